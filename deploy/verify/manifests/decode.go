package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

// Allowed are the API versions glocust's manifests may use: current, GA
// versions only. ServiceMonitor is allowed only where AllowMonitoring is set.
var Allowed = map[schema.GroupVersionKind]bool{
	{Version: "v1", Kind: "Namespace"}:                                     true,
	{Version: "v1", Kind: "ConfigMap"}:                                     true,
	{Version: "v1", Kind: "Service"}:                                       true,
	{Version: "v1", Kind: "PersistentVolumeClaim"}:                         true,
	{Group: "apps", Version: "v1", Kind: "Deployment"}:                     true,
	{Group: "batch", Version: "v1", Kind: "Job"}:                           true,
	{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}:          true,
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}: true,
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}:     true,
}

// ServiceMonitorGVK is the Prometheus Operator's ServiceMonitor.
var ServiceMonitorGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}

// Object is one decoded manifest document.
type Object struct {
	GVK  schema.GroupVersionKind
	Name string
	JSON []byte         // the document as JSON, for the dynamic client
	Obj  runtime.Object // the typed object (*appsv1.Deployment, ...)
}

func (o Object) String() string { return o.GVK.Kind + "/" + o.Name }

var (
	scheme = func() *runtime.Scheme {
		s := runtime.NewScheme()
		if err := clientgoscheme.AddToScheme(s); err != nil {
			panic(err)
		}
		if err := monitoringv1.AddToScheme(s); err != nil {
			panic(err)
		}
		return s
	}()
	strict = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
)

// Decode splits a multi-document YAML stream and strictly decodes every
// document into its typed Go object: unknown or duplicate fields and wrong
// types are errors, and so is any kind outside Allowed (plus ServiceMonitor
// when allowMonitoring). All problems are returned, joined.
func Decode(data []byte, allowMonitoring bool) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Object
	var errs []error
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("manifests: document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, gvk, err := strict.Decode(doc, nil, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, gvkOf(gvk), err))
			continue
		}
		if !Allowed[*gvk] && !(allowMonitoring && *gvk == ServiceMonitorGVK) {
			errs = append(errs, fmt.Errorf("document %d: %s is not an allowed API version/kind", i, gvkOf(gvk)))
			continue
		}
		// A second, independent strict decode of the same bytes
		// (sigs.k8s.io/yaml: unknown fields, and duplicate keys).
		typed, err := scheme.New(*gvk)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i, err))
			continue
		}
		if err := sigsyaml.UnmarshalStrict(doc, typed); err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, gvkOf(gvk), err))
			continue
		}
		js, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i, err))
			continue
		}
		acc, ok := obj.(interface{ GetName() string })
		name := ""
		if ok {
			name = acc.GetName()
		}
		out = append(out, Object{GVK: *gvk, Name: name, JSON: js, Obj: obj})
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("manifests: %w", errors.Join(errs...))
	}
	return out, nil
}

func gvkOf(g *schema.GroupVersionKind) string {
	if g == nil {
		return "unknown kind"
	}
	if g.Group == "" {
		return g.Version + " " + g.Kind
	}
	return g.Group + "/" + g.Version + " " + g.Kind
}
