package kubectlcinch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Exit codes of kubectl-cinch (see the README).
const (
	ExitOK = 0
	// ExitError: bad arguments, an API error, a workload that does not
	// exist, annotations that cannot be read.
	ExitError = 1
	// ExitNotMet: status --fail-below found a workload below the level;
	// diff found differences; apply refused (no verified recommendation
	// for the current template).
	ExitNotMet = 2
	// ExitUndecided: status --fail-below found no workload below the level,
	// but some that are below it as they run have no final result for
	// their current template yet.
	ExitUndecided = 3
)

// cluster is what the commands need of the API server; Client is the real
// one.
type cluster interface {
	Namespace(ctx context.Context, ns string) (map[string]string, error)
	OptedInNamespaces(ctx context.Context) ([]string, error)
	Get(ctx context.Context, ns string, t Target) (Workload, error)
	List(ctx context.Context, ns string) ([]Workload, error)
	Patch(ctx context.Context, w Workload, patch []byte, dryRun bool) (Workload, error)
	Events(ctx context.Context, w Workload) ([]corev1.Event, error)
}

// App runs kubectl-cinch's commands.
type App struct {
	Streams genericiooptions.IOStreams
	// Now is the clock (ages of verified-at times, Events).
	Now func() time.Time
	// NewCluster connects to the API server; default: NewClient.
	NewCluster func(*rest.Config) (cluster, error)
}

// Config is filled from the flags of one invocation.
type Config struct {
	// Kube are kubectl's connection flags (--kubeconfig, --context, -n, ...).
	Kube          *genericclioptions.ConfigFlags
	AllNamespaces bool
	Output        string
	FailBelow     string
	DryRun        string
}

// Dry-run modes of apply.
const (
	DryRunNone   = "none"
	DryRunClient = "client"
	DryRunServer = "server"
)

// Validate checks the flags that do not depend on the command.
func (c Config) Validate() error {
	switch c.Output {
	case OutputTable, OutputWide, OutputJSON, OutputYAML:
	default:
		return fmt.Errorf("--output %q: use wide, json or yaml", c.Output)
	}
	if c.FailBelow != "" && !ValidLevel(c.FailBelow) {
		return fmt.Errorf("--fail-below %q: use baseline or restricted", c.FailBelow)
	}
	switch c.DryRun {
	case DryRunNone, DryRunClient, DryRunServer:
	default:
		return fmt.Errorf("--dry-run %q: use none, client or server", c.DryRun)
	}
	return nil
}

// exitError carries an exit code other than ExitError.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs kubectl-cinch with args (without the program name) and returns
// the exit code.
func (a *App) Main(ctx context.Context, args []string) int {
	cmd := a.Command()
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(a.Streams.ErrOut, "error:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitError
}

// Command builds the cobra command tree.
func (a *App) Command() *cobra.Command {
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.NewCluster == nil {
		a.NewCluster = func(cfg *rest.Config) (cluster, error) { return NewClient(cfg) }
	}
	cfg := &Config{Kube: genericclioptions.NewConfigFlags(true), DryRun: DryRunNone}
	root := &cobra.Command{
		Use:   "kubectl-cinch",
		Short: "Read and apply Cinch's verified hardening recommendations",
		Long: `kubectl cinch reads the cinch.dev/* annotations Cinch writes on workloads.

  kubectl cinch status [-n NS | -A] [-o wide|json|yaml] [--fail-below baseline|restricted]
  kubectl cinch explain KIND/NAME
  kubectl cinch diff KIND/NAME
  kubectl cinch apply KIND/NAME [--dry-run=client|server]

KIND: ` + strings.Join(hardening.Kinds(), ", ") + ` (or deploy, sts, ds, cj).
Exit codes: 0 ok; 1 error; 2 status --fail-below: a workload below the level,
diff: differences, apply: refused; 3 status --fail-below: undecided (no result yet).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl cinch"},
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetOut(a.Streams.Out)
	root.SetErr(a.Streams.ErrOut)
	root.SetIn(a.Streams.In)
	cfg.Kube.AddFlags(root.PersistentFlags())

	status := &cobra.Command{
		Use:   "status [-n NS | -A]",
		Short: "One line per workload of the opted-in namespaces: status, PodSecurity level, hardened, failed checks",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.status(c.Context(), *cfg)
		},
	}
	status.Flags().BoolVarP(&cfg.AllNamespaces, "all-namespaces", "A", false, "every opted-in namespace")
	status.Flags().StringVarP(&cfg.Output, "output", "o", "", "wide, json or yaml")
	status.Flags().StringVar(&cfg.FailBelow, "fail-below", "", "exit 2 when a workload reaches less than this PodSecurity level (baseline or restricted), 3 when that is not decided yet")

	explain := &cobra.Command{
		Use:   "explain KIND/NAME",
		Short: "Every trial and its verdict in plain words, the evidence, the capabilities kept and why",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			return a.explain(c.Context(), *cfg, args)
		},
	}
	diff := &cobra.Command{
		Use:   "diff KIND/NAME",
		Short: "Unified diff of the workload's securityContexts against its verified recommendation (exit 2 on differences)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			return a.diff(c.Context(), *cfg, args)
		},
	}
	apply := &cobra.Command{
		Use:   "apply KIND/NAME [--dry-run=client|server]",
		Short: "Apply the verified recommendation through the API server, only if it was verified for the current pod template",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			return a.apply(c.Context(), *cfg, args)
		},
	}
	apply.Flags().StringVar(&cfg.DryRun, "dry-run", DryRunNone, "client: only show the change; server: send it with dryRun (admission and validation run, nothing is stored)")
	apply.Flags().Lookup("dry-run").NoOptDefVal = DryRunClient
	root.AddCommand(status, explain, diff, apply)
	return root
}

func (a *App) connect(cfg Config) (cluster, string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, "", err
	}
	ns, _, err := cfg.Kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("namespace: %w", err)
	}
	rc, err := cfg.Kube.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	cl, err := a.NewCluster(rc)
	if err != nil {
		return nil, "", err
	}
	return cl, ns, nil
}

func (a *App) status(ctx context.Context, cfg Config) error {
	cl, ns, err := a.connect(cfg)
	if err != nil {
		return err
	}
	var wls []Workload
	if cfg.AllNamespaces {
		nss, err := cl.OptedInNamespaces(ctx)
		if err != nil {
			return err
		}
		if len(nss) > 0 {
			all, err := cl.List(ctx, "")
			if err != nil {
				return err
			}
			for _, w := range all {
				if slices.Contains(nss, w.Namespace) {
					wls = append(wls, w)
				}
			}
		}
	} else {
		labels, err := cl.Namespace(ctx, ns)
		if err != nil {
			return err
		}
		if !hardening.NamespaceOptedIn(labels) {
			return fmt.Errorf("namespace %s is not opted in to Cinch (label it %s=%s)", ns, hardening.LabelHarden, hardening.HardenEnabled)
		}
		if wls, err = cl.List(ctx, ns); err != nil {
			return err
		}
	}
	rows := Rows(wls)
	if len(rows) == 0 && cfg.Output != OutputJSON && cfg.Output != OutputYAML {
		where := "namespace " + ns
		if cfg.AllNamespaces {
			where = "any opted-in namespace"
		}
		fmt.Fprintf(a.Streams.ErrOut, "No opted-in workloads found in %s.\n", where)
	} else if err := PrintStatus(a.Streams.Out, rows, cfg.Output, cfg.AllNamespaces, a.Now()); err != nil {
		return err
	}
	if cfg.FailBelow == "" {
		return nil
	}
	return gate(rows, cfg.FailBelow)
}

// Rows returns the status rows of the workloads that are not opted out,
// sorted by namespace, kind (in hardening.Kinds order) and name.
func Rows(wls []Workload) []Row {
	order := hardening.Kinds()
	wls = slices.DeleteFunc(slices.Clone(wls), func(w Workload) bool { return hardening.WorkloadOptedOut(w.Annotations) })
	slices.SortFunc(wls, func(x, y Workload) int {
		return cmp.Or(cmp.Compare(x.Namespace, y.Namespace),
			cmp.Compare(slices.Index(order, x.Kind), slices.Index(order, y.Kind)),
			cmp.Compare(x.Name, y.Name))
	})
	rows := make([]Row, len(wls))
	for i, w := range wls {
		rows[i] = NewRow(w)
	}
	return rows
}

// gate returns the --fail-below outcome as an exitError, nil when every row
// reaches want.
func gate(rows []Row, want string) error {
	var below, undecided []string
	for _, r := range rows {
		name := r.Kind + "/" + r.Namespace + "/" + r.Name
		switch Judge(r, want) {
		case Below:
			what := "Failed, template " + orNone(r.TemplateLevel)
			if r.Status == string(hardening.StatusVerified) {
				what = "verified " + orNone(r.Level)
			}
			below = append(below, fmt.Sprintf("%s (%s)", name, what))
		case Undecided:
			undecided = append(undecided, fmt.Sprintf("%s (%s, template %s)", name, r.Status, orNone(r.TemplateLevel)))
		}
	}
	switch {
	case len(below) > 0:
		return &exitError{code: ExitNotMet, err: fmt.Errorf("%d workload(s) below %s: %s", len(below), want, strings.Join(below, ", "))}
	case len(undecided) > 0:
		return &exitError{code: ExitUndecided, err: fmt.Errorf("%d workload(s) below %s without a final result for their current template yet: %s", len(undecided), want, strings.Join(undecided, ", "))}
	}
	return nil
}

func (a *App) target(ctx context.Context, cfg Config, args []string) (cluster, Workload, error) {
	t, err := ParseTarget(args)
	if err != nil {
		return nil, Workload{}, err
	}
	cl, ns, err := a.connect(cfg)
	if err != nil {
		return nil, Workload{}, err
	}
	w, err := cl.Get(ctx, ns, t)
	if apierrors.IsNotFound(err) {
		return nil, Workload{}, fmt.Errorf("%s not found in namespace %s", t, ns)
	}
	return cl, w, err
}

func (a *App) explain(ctx context.Context, cfg Config, args []string) error {
	cl, w, err := a.target(ctx, cfg, args)
	if err != nil {
		return err
	}
	if hardening.WorkloadOptedOut(w.Annotations) {
		fmt.Fprintf(a.Streams.ErrOut, "note: %s/%s opts out of Cinch (annotation %s: %s)\n", w.Kind, w.Name, hardening.LabelHarden, hardening.HardenDisabled)
	}
	events, err := cl.Events(ctx, w)
	if err != nil {
		fmt.Fprintf(a.Streams.ErrOut, "note: no Events: %v\n", err)
	}
	return Explain(a.Streams.Out, w, events, a.Now())
}

func (a *App) diff(ctx context.Context, cfg Config, args []string) error {
	_, w, err := a.target(ctx, cfg, args)
	if err != nil {
		return err
	}
	rec, err := UsableRecommendation(w)
	if errors.Is(err, ErrRefused) && !w.Current() && w.Status() == hardening.StatusVerified {
		// Show the old recommendation anyway; apply would refuse it.
		fmt.Fprintf(a.Streams.ErrOut, "warning: the recommendation was verified for pod template %s, the current one is %s; apply refuses it\n",
			w.Annotations[hardening.AnnotationTemplateHash], w.Hash)
		var ok bool
		rec, ok, err = w.Recommendation()
		if err == nil && !ok {
			err = fmt.Errorf("%s: no %s annotation", w.Ref(), hardening.AnnotationRecommendation)
		}
	}
	if err != nil {
		return err
	}
	d, err := Diff(w, rec)
	if err != nil {
		return err
	}
	if d == "" {
		fmt.Fprintf(a.Streams.ErrOut, "%s/%s already runs with its verified recommendation.\n", strings.ToLower(w.Kind), w.Name)
		return nil
	}
	if _, err := io.WriteString(a.Streams.Out, d); err != nil {
		return err
	}
	return &exitError{code: ExitNotMet, err: fmt.Errorf("%s/%s differs from its verified recommendation", strings.ToLower(w.Kind), w.Name)}
}

func (a *App) apply(ctx context.Context, cfg Config, args []string) error {
	cl, w, err := a.target(ctx, cfg, args)
	if err != nil {
		return err
	}
	k, err := lookupKind(w.Kind)
	if err != nil {
		return err
	}
	name := k.qualified() + "/" + w.Name
	plan, err := PlanApply(w)
	if errors.Is(err, ErrRefused) {
		return &exitError{code: ExitNotMet, err: err}
	}
	if err != nil {
		return err
	}
	if plan.UpToDate {
		fmt.Fprintf(a.Streams.Out, "%s unchanged: it already runs with its verified recommendation\n", name)
		return nil
	}
	var after *corev1.PodTemplateSpec
	suffix := ""
	switch cfg.DryRun {
	case DryRunClient:
		if after, err = Patched(w, plan.Recommendation); err != nil {
			return err
		}
		suffix = " (client dry run)"
	default:
		res, err := cl.Patch(ctx, w, plan.Patch, cfg.DryRun == DryRunServer)
		if apierrors.IsConflict(err) {
			return fmt.Errorf("%s changed while it was being patched; nothing applied, run the command again: %w", w.Ref(), err)
		}
		if err != nil {
			return err
		}
		after = res.Template
		if cfg.DryRun == DryRunServer {
			suffix = " (server dry run)"
		}
	}
	if cfg.DryRun != DryRunNone {
		if d, err := diffTemplates(w, after); err == nil {
			_, _ = io.WriteString(a.Streams.Out, d)
		}
	}
	fmt.Fprintf(a.Streams.Out, "%s patched%s\n", name, suffix)
	if weaker := hardening.Weaker(plan.Recommendation, after); len(weaker) > 0 {
		fmt.Fprintf(a.Streams.ErrOut, "warning: after admission the template is still weaker than the recommendation: %s\n", strings.Join(weaker, "; "))
	}
	return nil
}

// diffTemplates is the unified diff of the securityContexts of w's template
// and after, the template apply sent (or would send).
func diffTemplates(w Workload, after *corev1.PodTemplateSpec) (string, error) {
	a, err := SecurityYAML(w.Template)
	if err != nil {
		return "", err
	}
	c, err := SecurityYAML(after)
	if err != nil {
		return "", err
	}
	return unified(w, a, c, "after apply")
}
