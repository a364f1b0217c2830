// linkerd-values renders the parts of Linkerd's linkerd-control-plane chart
// that a proxy-injector run outside the cluster needs: the linkerd Namespace,
// the linkerd-config ConfigMap (whose "values" key is what the injector reads
// from its config/values file) and the proxy injector's
// MutatingWebhookConfiguration. It renders them the way Helm does: the chart's
// own values.yaml (embedded in the linkerd2 module at the vendored commit) as
// defaults, a few overrides on top, Linkerd's partials and template engine.
//
// scripts/meshes/build-linkerd.sh copies this file into the extracted linkerd2
// source and builds it there, so it always matches the injector it is used with.
//
//	linkerd-values --linkerd-version edge-26.8.3 --namespace linkerd --values overrides.yaml > rendered.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/linkerd/linkerd2/charts"
	chartspkg "github.com/linkerd/linkerd2/pkg/charts"
	l5dcharts "github.com/linkerd/linkerd2/pkg/charts/linkerd2"
	"github.com/linkerd/linkerd2/pkg/version"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/yaml"
)

// The chart's templates that hold what the injector needs; the other objects
// in proxy-injector-rbac.yaml (RBAC, ServiceAccount) come along and are ignored.
var templates = []string{
	"templates/namespace.yaml",
	"templates/config.yaml",
	"templates/proxy-injector-rbac.yaml",
}

func main() {
	namespace := flag.String("namespace", "linkerd", "control plane namespace (the Helm release namespace)")
	linkerdVersion := flag.String("linkerd-version", "", "value of linkerdVersion (required)")
	valuesFile := flag.String("values", "", "YAML or JSON file with values that override the chart's defaults")
	flag.Parse()
	if *linkerdVersion == "" {
		fail("--linkerd-version is required")
	}
	// Whatever in linkerd's packages falls back to the build's version sees this one.
	version.Version = *linkerdVersion

	overrides := map[string]any{}
	if *valuesFile != "" {
		raw, err := os.ReadFile(*valuesFile)
		if err != nil {
			fail("reading %s: %s", *valuesFile, err)
		}
		if err := yaml.Unmarshal(raw, &overrides); err != nil {
			fail("parsing %s: %s", *valuesFile, err)
		}
		if overrides == nil {
			overrides = map[string]any{}
		}
	}
	// values.yaml carries a placeholder for it; Helm users set it the same way.
	overrides["linkerdVersion"] = *linkerdVersion

	files := []*loader.BufferedFile{
		{Name: chartutil.ChartfileName},
		// Loaded as a file of the chart, values.yaml becomes the chart's defaults,
		// which Helm coalesces with the overrides.
		{Name: chartutil.ValuesfileName},
	}
	for _, template := range templates {
		files = append(files, &loader.BufferedFile{Name: template})
	}
	chart := &chartspkg.Chart{
		Name:      l5dcharts.HelmChartDirCP,
		Dir:       l5dcharts.HelmChartDirCP,
		Namespace: *namespace,
		Values:    overrides,
		Files:     files,
		Fs:        charts.Templates,
	}
	rendered, err := chart.Render()
	if err != nil {
		fail("rendering %s: %s", l5dcharts.HelmChartDirCP, err)
	}
	if _, err := os.Stdout.Write(rendered.Bytes()); err != nil {
		fail("writing: %s", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "linkerd-values: "+format+"\n", args...)
	os.Exit(1)
}
