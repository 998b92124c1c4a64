// Wrapper module that builds the Apache-2.0 Loki v1.6.1 single binary from the Go module proxy.
// `go install github.com/grafana/loki/cmd/loki@v1.6.1` is refused because Loki's go.mod has
// replace directives; this module copies them (plus two bumps that newer Go toolchains need).
// `python -m stack install` copies it into the build cache and runs
// `go build -o <cache>/loki github.com/grafana/loki/cmd/loki` with GOFLAGS=-mod=mod.
module kil/lokibuild

go 1.14

require github.com/grafana/loki v1.6.1

replace github.com/hpcloud/tail => github.com/grafana/tail v0.0.0-20191024143944-0b54ddf21fe7

replace github.com/Azure/azure-sdk-for-go => github.com/Azure/azure-sdk-for-go v36.2.0+incompatible

replace k8s.io/client-go => k8s.io/client-go v0.18.3

replace github.com/satori/go.uuid => github.com/satori/go.uuid v1.2.0

replace github.com/gocql/gocql => github.com/grafana/gocql v0.0.0-20200605141915-ba5dc39ece85

replace google.golang.org/grpc => google.golang.org/grpc v1.29.1

// reflect2 < 1.0.2 crashes at run time on Go 1.18+ (unsafe map internals changed).
replace github.com/modern-go/reflect2 => github.com/modern-go/reflect2 v1.0.2

replace github.com/json-iterator/go => github.com/json-iterator/go v1.1.12
