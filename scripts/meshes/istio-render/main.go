// istio-render prints the Kubernetes manifests an Istio install would apply,
// rendered by Istio's own installer library (the code behind
// `istioctl manifest generate`), without a cluster.
//
//	istio-render [--profile minimal] [--revision default|1-24] [--hub H] [--tag T] [--set path=value]...
//
// The tests take the injector ConfigMaps and webhook configuration from this
// output, so injected pods carry exactly what a real istiod of this version
// would give them.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"istio.io/istio/operator/pkg/component"
	"istio.io/istio/operator/pkg/render"
	"istio.io/istio/pkg/version"
)

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	hub, tag := version.DockerInfo.Hub, version.DockerInfo.Tag // stamped by the build script
	if hub == "unknown" {
		hub = "docker.io/istio"
	}
	profile := flag.String("profile", "minimal", "installation profile")
	revision := flag.String("revision", "default", `control-plane revision; "default" renders the revision-less install`)
	flag.StringVar(&hub, "hub", hub, "image registry of the injected proxy and of istiod")
	flag.StringVar(&tag, "tag", tag, "image tag of the injected proxy and of istiod")
	var sets setFlags
	flag.Var(&sets, "set", "extra IstioOperator spec path=value (repeatable), e.g. values.global.logging.level=default:debug")
	flag.Parse()
	if tag == "" || tag == "unknown" {
		fail("no --tag given and none stamped in at build time")
	}

	all := []string{"profile=" + *profile, "hub=" + hub, "tag=" + tag}
	if *revision != "" && *revision != "default" {
		all = append(all, "revision="+*revision)
	}
	all = append(all, sets...)

	manifestSets, _, err := render.GenerateManifest(nil, all, false, nil, nil)
	if err != nil {
		fail(err.Error())
	}
	// GenerateManifest returns components in map order; print them in install order.
	order := map[component.Name]int{}
	for i, c := range component.AllComponents {
		order[c.UserFacingName] = i
	}
	sort.SliceStable(manifestSets, func(i, j int) bool {
		return order[manifestSets[i].Component] < order[manifestSets[j].Component]
	})
	var out strings.Builder
	for _, set := range manifestSets {
		for _, m := range set.Manifests {
			fmt.Fprintf(&out, "# component: %s\n%s\n---\n", set.Component, strings.TrimSpace(m.Content))
		}
	}
	if _, err := os.Stdout.WriteString(out.String()); err != nil {
		fail(err.Error())
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "istio-render:", message)
	os.Exit(1)
}
