// consul-server-stub stands in for the Consul server in the test cluster: it answers the calls
// Consul's connect injector makes of it (../shared/vendor/consul-k8s/PROVENANCE.md names the first
// two; running it showed the third) and refuses everything else, logging it so that a new call
// shows up.
//
//   - gRPC DataplaneService/GetSupportedDataplaneFeatures, which the injector's server watcher
//     blocks on before anything listens. The answer lists no feature, so the watcher never opens
//     the server-watch stream and only asks again now and then.
//   - HTTP GET /v1/config/proxy-defaults/global, made for every injected pod: 404 (no
//     proxy-defaults), which the injector accepts.
//   - HTTP GET /v1/config/<kind> and /v1/catalog/services, the long polls of the API-gateway cache
//     (which the injector waits on before its webhook listens: "waiting for Consul cache sync") and
//     of the registration cache: an empty list at index 1; a blocking query at that index waits as
//     Consul's would (up to its wait, at most a minute) before the same answer. Both loops retry
//     errors without a pause, so a refusal here would spin.
//
// Written in Go, and built inside the vendored consul-k8s module by scripts/meshes/build-consul.sh,
// because the injector's gRPC client sends an empty :authority (it dials "consul://"), which
// Node's HTTP/2 server rejects as a protocol error. Consul server itself (BUSL-1.1) is not used.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/proto-public/pbdataplane"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	proxyDefaultsPath   = "/v1/config/proxy-defaults/global"
	configPrefix        = "/v1/config/"
	catalogServicesPath = "/v1/catalog/services"
	// The one index this stub's (empty, unchanging) config entries are ever at.
	configIndex = 1
	longestWait = time.Minute
)

type dataplane struct {
	pbdataplane.UnimplementedDataplaneServiceServer
}

func (dataplane) GetSupportedDataplaneFeatures(
	context.Context, *pbdataplane.GetSupportedDataplaneFeaturesRequest,
) (*pbdataplane.GetSupportedDataplaneFeaturesResponse, error) {
	log.Printf("answered GetSupportedDataplaneFeatures")
	return &pbdataplane.GetSupportedDataplaneFeaturesResponse{}, nil
}

func serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == proxyDefaultsPath {
		log.Printf("answered GET %s: 404", proxyDefaultsPath)
		http.Error(w, "Config entry not found", http.StatusNotFound)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == catalogServicesPath {
		emptyList(w, r, "{}")
		return
	}
	if kind, ok := strings.CutPrefix(r.URL.Path, configPrefix); ok && r.Method == http.MethodGet && kind != "" &&
		!strings.Contains(kind, "/") {
		emptyList(w, r, "[]")
		return
	}
	log.Printf("refused an unexpected HTTP call: %s %s", r.Method, r.URL.Path)
	http.Error(w, "not served by the consul server stub", http.StatusNotFound)
}

// emptyList answers a (blocking) list read: always empty, always at configIndex.
func emptyList(w http.ResponseWriter, r *http.Request, empty string) {
	index, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	if index >= configIndex {
		wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
		if err != nil || wait <= 0 || wait > longestWait {
			wait = longestWait
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(wait):
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Consul-Index", strconv.Itoa(configIndex))
	w.Header().Set("X-Consul-KnownLeader", "true")
	_, _ = w.Write([]byte(empty))
}

// refuseUnknown logs gRPC calls of services this stub does not serve (grpc answers Unimplemented).
func refuseUnknown(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	log.Printf("refused an unexpected gRPC call: %s", method)
	return status.Errorf(codes.Unimplemented, "not served by the consul server stub: %s", method)
}

func main() {
	grpcAddr := flag.String("grpc-listen", "127.0.0.1:8502", "gRPC listen address")
	httpAddr := flag.String("http-listen", "127.0.0.1:8500", "HTTP listen address")
	flag.Parse()

	grpcListener, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		log.Fatalf("gRPC listen: %v", err)
	}
	httpListener, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Fatalf("HTTP listen: %v", err)
	}
	server := grpc.NewServer(grpc.UnknownServiceHandler(refuseUnknown))
	pbdataplane.RegisterDataplaneServiceServer(server, dataplane{})
	go func() { log.Fatal(http.Serve(httpListener, http.HandlerFunc(serveHTTP))) }()
	log.Printf("listening: grpc %s http %s", grpcListener.Addr(), httpListener.Addr())
	log.Fatal(server.Serve(grpcListener))
}
