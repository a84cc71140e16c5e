// kubecheck reads rendered Kubernetes manifests (multi-document YAML) on stdin and checks each object
// against the official API types of k8s.io/api, as an API server would before storing it:
//
//   - the apiVersion/kind must be one this chart may use (a removed or misspelt API fails);
//   - the object is decoded strictly into its Go type: an unknown or duplicated field, or a value of the
//     wrong type or format (a quantity "lots", a port "eighty"), fails;
//   - apimachinery's validation of names (DNS-1123 / DNS-1035 as the kind requires), labels, annotations
//     and label selectors, plus a few checks the API server makes that cost nothing here (a workload's
//     selector matches its pod labels, container and port names, env var names, hook Jobs restart Never).
//
// It prints one line per object and exits 1 naming every object at fault. No cluster, no network: the
// JSON schemas kubeconform would fetch are not reachable here, the Go types are the schemas' source.
//
//	kubecheck < manifests.yaml             the report on stdout
//	kubecheck -json < manifests.yaml       the report on stderr, the decoded objects as one JSON array on stdout
//	kubecheck -yaml2json < file.yaml       one YAML document as JSON (for the tests' own reading of values files)
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Every kind the chart renders, by apiVersion/kind. Anything else is refused, so a chart that starts
// using a new kind adds it here on purpose.
var kinds = map[string]func() any{
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                      func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":               func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                    func() any { return &appsv1.StatefulSet{} },
	"batch/v1/Job":                           func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":                       func() any { return &batchv1.CronJob{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/Ingress":           func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return &networkingv1.NetworkPolicy{} },
}

// Kinds whose names are DNS-1035 labels (they become DNS names of their own); the rest are DNS-1123 subdomains.
var dns1035 = map[string]bool{"Service": true}

var source = regexp.MustCompile(`(?m)^# Source: (.+)$`)

func main() {
	asJSON := flag.Bool("json", false, "print the decoded objects as a JSON array on stdout, the report on stderr")
	yaml2json := flag.Bool("yaml2json", false, "convert one YAML document on stdin to JSON")
	flag.Parse()
	if *yaml2json {
		in, err := io.ReadAll(os.Stdin)
		if err == nil {
			in, err = yaml.YAMLToJSON(in)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubecheck:", err)
			os.Exit(2)
		}
		os.Stdout.Write(append(in, '\n'))
		return
	}
	report := io.Writer(os.Stdout)
	if *asJSON {
		report = os.Stderr
	}
	objects := []any{}
	checked, failed, err := check(os.Stdin, report, &objects)
	if *asJSON && err == nil {
		if encodeErr := json.NewEncoder(os.Stdout).Encode(objects); encodeErr != nil {
			err = encodeErr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecheck:", err)
		os.Exit(2)
	}
	fmt.Fprintf(report, "kubecheck: %d objects checked, %d invalid\n", checked, failed)
	if failed > 0 || checked == 0 {
		os.Exit(1)
	}
}

func check(in io.Reader, out io.Writer, objects *[]any) (checked, failed int, err error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	for {
		doc, readErr := reader.Read()
		if errors.Is(readErr, io.EOF) {
			return checked, failed, nil
		}
		if readErr != nil {
			return checked, failed, readErr
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		checked++
		from := ""
		if m := source.FindSubmatch(doc); m != nil {
			from = " (" + string(m[1]) + ")"
		}
		id, object, errs := checkDocument(doc)
		if object != nil {
			*objects = append(*objects, object)
		}
		if len(errs) == 0 {
			fmt.Fprintf(out, "ok      %s%s\n", id, from)
			continue
		}
		failed++
		fmt.Fprintf(out, "INVALID %s%s\n", id, from)
		for _, e := range errs {
			fmt.Fprintf(out, "        %s\n", e)
		}
	}
}

func stripComments(doc []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}

func checkDocument(doc []byte) (string, any, []string) {
	var meta struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return "?", nil, []string{"not YAML: " + err.Error()}
	}
	id := fmt.Sprintf("%s/%s %s", meta.APIVersion, meta.Kind, meta.Metadata.Name)
	newObject, known := kinds[meta.APIVersion+"/"+meta.Kind]
	if !known {
		return id, nil, []string{fmt.Sprintf("unknown kind %s %s (not one of the chart's API types)", meta.APIVersion, meta.Kind)}
	}
	object := newObject()
	if err := yaml.UnmarshalStrict(doc, object); err != nil {
		return id, nil, []string{"does not decode strictly into " + fmt.Sprintf("%T", object) + ": " + err.Error()}
	}
	var errs field.ErrorList
	accessor := object.(metav1.Object)
	nameFn := apivalidation.NameIsDNSSubdomain
	if dns1035[meta.Kind] {
		nameFn = apivalidation.NameIsDNS1035Label
	}
	// Every kind here is namespaced: a namespace is checked when given (kubectl's output), else Helm's is used.
	errs = append(errs, apivalidation.ValidateObjectMetaAccessor(accessor, accessor.GetNamespace() != "", nameFn, field.NewPath("metadata"))...)
	errs = append(errs, checkKind(object)...)
	messages := make([]string, 0, len(errs))
	for _, e := range errs {
		messages = append(messages, e.Error())
	}
	return id, object, messages
}

// The checks per kind that the API server's own validation would make and that need nothing but the object.
func checkKind(object any) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	switch o := object.(type) {
	case *appsv1.Deployment:
		errs = append(errs, checkWorkload(o.Spec.Selector, &o.Spec.Template, spec)...)
	case *appsv1.StatefulSet:
		errs = append(errs, checkWorkload(o.Spec.Selector, &o.Spec.Template, spec)...)
		if o.Spec.ServiceName == "" {
			errs = append(errs, field.Required(spec.Child("serviceName"), "a StatefulSet names its headless Service"))
		}
	case *batchv1.Job:
		errs = append(errs, checkJobPod(&o.Spec.Template, spec.Child("template"))...)
	case *batchv1.CronJob:
		if len(strings.Fields(o.Spec.Schedule)) != 5 {
			errs = append(errs, field.Invalid(spec.Child("schedule"), o.Spec.Schedule, "five cron fields"))
		}
		errs = append(errs, checkJobPod(&o.Spec.JobTemplate.Spec.Template, spec.Child("jobTemplate", "spec", "template"))...)
	case *corev1.Service:
		errs = append(errs, metavalidation.ValidateLabels(o.Spec.Selector, spec.Child("selector"))...)
		for i, p := range o.Spec.Ports {
			path := spec.Child("ports").Index(i)
			errs = append(errs, portNumber(path.Child("port"), p.Port)...)
			if p.Name != "" {
				errs = append(errs, messages(path.Child("name"), p.Name, validation.IsValidPortName(p.Name))...)
			}
		}
	case *policyv1.PodDisruptionBudget:
		errs = append(errs, selector(o.Spec.Selector, spec.Child("selector"))...)
		if (o.Spec.MinAvailable == nil) == (o.Spec.MaxUnavailable == nil) {
			errs = append(errs, field.Invalid(spec, "", "exactly one of minAvailable and maxUnavailable"))
		}
	case *networkingv1.NetworkPolicy:
		errs = append(errs, metavalidation.ValidateLabelSelector(&o.Spec.PodSelector, metavalidation.LabelSelectorValidationOptions{}, spec.Child("podSelector"))...)
		for i, rule := range o.Spec.Ingress {
			for j, peer := range rule.From {
				path := spec.Child("ingress").Index(i).Child("from").Index(j)
				if peer.PodSelector != nil {
					errs = append(errs, metavalidation.ValidateLabelSelector(peer.PodSelector, metavalidation.LabelSelectorValidationOptions{}, path.Child("podSelector"))...)
				}
				if peer.NamespaceSelector != nil {
					errs = append(errs, metavalidation.ValidateLabelSelector(peer.NamespaceSelector, metavalidation.LabelSelectorValidationOptions{}, path.Child("namespaceSelector"))...)
				}
			}
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if o.Spec.MinReplicas != nil && *o.Spec.MinReplicas > o.Spec.MaxReplicas {
			errs = append(errs, field.Invalid(spec.Child("minReplicas"), *o.Spec.MinReplicas, "more than maxReplicas"))
		}
	case *networkingv1.Ingress:
		for i, rule := range o.Spec.Rules {
			if rule.Host != "" {
				errs = append(errs, messages(spec.Child("rules").Index(i).Child("host"), rule.Host, validation.IsDNS1123Subdomain(rule.Host))...)
			}
		}
	}
	return errs
}

func checkWorkload(sel *metav1.LabelSelector, template *corev1.PodTemplateSpec, spec *field.Path) field.ErrorList {
	errs := selector(sel, spec.Child("selector"))
	if sel != nil {
		if s, err := metav1.LabelSelectorAsSelector(sel); err == nil && !s.Matches(labels.Set(template.Labels)) {
			errs = append(errs, field.Invalid(spec.Child("template", "metadata", "labels"), template.Labels, "the selector does not match the pod's labels"))
		}
	}
	return append(errs, checkPod(template, spec.Child("template"))...)
}

func checkJobPod(template *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	errs := checkPod(template, path)
	if p := template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
		errs = append(errs, field.NotSupported(path.Child("spec", "restartPolicy"), p, []string{"Never", "OnFailure"}))
	}
	return errs
}

func checkPod(template *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	errs := metavalidation.ValidateLabels(template.Labels, path.Child("metadata", "labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(template.Annotations, path.Child("metadata", "annotations"))...)
	spec := path.Child("spec")
	if len(template.Spec.Containers) == 0 {
		errs = append(errs, field.Required(spec.Child("containers"), ""))
	}
	volumes := map[string]bool{}
	for _, v := range template.Spec.Volumes {
		volumes[v.Name] = true
		errs = append(errs, messages(spec.Child("volumes"), v.Name, validation.IsDNS1123Label(v.Name))...)
	}
	for i, c := range template.Spec.Containers {
		cpath := spec.Child("containers").Index(i)
		errs = append(errs, messages(cpath.Child("name"), c.Name, validation.IsDNS1123Label(c.Name))...)
		if c.Image == "" {
			errs = append(errs, field.Required(cpath.Child("image"), ""))
		}
		for j, p := range c.Ports {
			errs = append(errs, portNumber(cpath.Child("ports").Index(j).Child("containerPort"), p.ContainerPort)...)
			if p.Name != "" {
				errs = append(errs, messages(cpath.Child("ports").Index(j).Child("name"), p.Name, validation.IsValidPortName(p.Name))...)
			}
		}
		for j, e := range c.Env {
			epath := cpath.Child("env").Index(j)
			errs = append(errs, messages(epath.Child("name"), e.Name, validation.IsEnvVarName(e.Name))...)
			if e.Value != "" && e.ValueFrom != nil {
				errs = append(errs, field.Invalid(epath, e.Name, "value and valueFrom are exclusive"))
			}
		}
		for j, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				errs = append(errs, field.NotFound(cpath.Child("volumeMounts").Index(j).Child("name"), m.Name))
			}
		}
	}
	return errs
}

func selector(s *metav1.LabelSelector, path *field.Path) field.ErrorList {
	if s == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	errs := metavalidation.ValidateLabelSelector(s, metavalidation.LabelSelectorValidationOptions{}, path)
	if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(path, "", "an empty selector selects every pod"))
	}
	return errs
}

func portNumber(path *field.Path, port int32) field.ErrorList {
	return messages(path, port, validation.IsValidPortNum(int(port)))
}

func messages(path *field.Path, value any, problems []string) field.ErrorList {
	var errs field.ErrorList
	for _, p := range problems {
		errs = append(errs, field.Invalid(path, value, p))
	}
	return errs
}
