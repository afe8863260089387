package rie_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gitbook-login/lambda-oauth/internal/rie"
	"github.com/gitbook-login/lambda-oauth/internal/templatecheck"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// invokeTimeout bounds one request through an emulated function. The
// functions' own Timeout (10 s in template.yaml) ends a stuck invoke first.
const invokeTimeout = 30 * time.Second

var resourceCount atomic.Int64

var unsafeNameChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// uniqueName returns a name for a moto resource that no other test uses,
// because the shared moto server keeps every table, key and secret.
func uniqueName(t testing.TB) string {
	name := unsafeNameChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 100 {
		name = name[:100]
	}
	return fmt.Sprintf("%s-%d", name, resourceCount.Add(1))
}

// awsResources are what a deployed stack creates, created in moto instead:
// the table, the KMS key and the client secret.
type awsResources struct {
	endpoint  string
	table     string
	keyARN    string
	secretARN string
	db        *dynamodb.Client
}

// newAWSResources creates the resources in moto. The secret holds the
// client secret as the JSON field client_secret, as the template's does.
func newAWSResources(t testing.TB, clientSecret string) awsResources {
	t.Helper()

	ctx := context.Background()
	endpoint := testservers.Moto(t)
	cfg := testservers.Config(endpoint)
	r := awsResources{endpoint: endpoint, table: uniqueName(t), db: dynamodb.NewFromConfig(cfg)}

	if err := store.New(r.db, r.table).EnsureTable(ctx); err != nil {
		t.Fatalf("create table in moto: %v", err)
	}

	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(t.Name())})
	if err != nil {
		t.Fatalf("create KMS key in moto: %v", err)
	}
	r.keyARN = aws.ToString(key.KeyMetadata.Arn)

	secret, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(uniqueName(t)),
		SecretString: aws.String(`{"client_secret":"` + clientSecret + `"}`),
	})
	if err != nil {
		t.Fatalf("create secret in moto: %v", err)
	}
	r.secretARN = aws.ToString(secret.ARN)
	return r
}

// stack is every function of template.yaml running under its own emulator,
// with the environment the template gives it for params, pointed at moto
// through one recording proxy per function.
type stack struct {
	emulators map[string]*rie.Emulator // by function name (Route.Name)
	recorders map[string]*recorder     // by function name
}

// startStack starts the stack. params are template parameters; the stack
// adds the ones that name the moto key and secret. env then overrides
// variables, for the local stand-ins the template leaves to the defaults.
func startStack(t testing.TB, resources awsResources, params, env map[string]string) *stack {
	t.Helper()

	params = maps.Clone(params)
	params["ExistingKmsKeyArn"] = resources.keyARN
	params["ClientSecretArn"] = resources.secretARN

	tpl, err := templatecheck.Load(filepath.Join(root, "template.yaml"), params)
	if err != nil {
		t.Fatalf("load template.yaml: %v", err)
	}
	targets, err := templatecheck.ReadBuildTargets(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatalf("read Makefile: %v", err)
	}

	s := &stack{emulators: map[string]*rie.Emulator{}, recorders: map[string]*recorder{}}
	t.Cleanup(func() { s.close(t) })

	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		name := targets[id].Folder()
		rec := newRecorder(t, resources.endpoint)

		emulator, err := rie.Start(rie.Options{
			Emulator:     emulatorPath(t),
			Bootstrap:    bootstrapPath(t, name),
			FunctionName: id,
			Env:          functionEnv(t, fn, resources, rec.url, env),
			Timeout:      time.Duration(fn.Timeout) * time.Second,
			MemoryMB:     fn.MemorySize,
		})
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		s.emulators[name] = emulator
		s.recorders[name] = rec
	}
	return s
}

// functionEnv returns the function's template environment with the table
// name in place of its reference, the stand-in endpoints and test
// credentials added, then overrides applied.
func functionEnv(t testing.TB, fn templatecheck.Function, resources awsResources, endpoint string, overrides map[string]string) []string {
	t.Helper()

	env := map[string]string{}
	for name, value := range fn.Environment {
		value = strings.ReplaceAll(value, templatecheck.RefMarker("SessionTable"), resources.table)
		if strings.Contains(value, "{Ref ") || strings.Contains(value, "{GetAtt ") {
			t.Fatalf("function %s: variable %s is %q, which names a resource the test does not create", fn.LogicalID, name, value)
		}
		env[name] = value
	}

	maps.Copy(env, map[string]string{
		"DYNAMODB_ENDPOINT":        endpoint,
		"KMS_ENDPOINT":             endpoint,
		"SECRETS_MANAGER_ENDPOINT": endpoint,
		"AWS_ACCESS_KEY_ID":        testservers.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":    testservers.SecretAccessKey,
		"AWS_REGION":               testservers.Region,
	})
	maps.Copy(env, overrides)

	var list []string
	for _, name := range slices.Sorted(maps.Keys(env)) {
		list = append(list, name+"="+env[name])
	}
	return list
}

// mount serves every route of handler.Routes on mux through its function's
// emulator, as the HTTP API's $default stage does.
func (s *stack) mount(t testing.TB, mux *http.ServeMux) {
	t.Helper()

	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	for _, route := range handler.New(handler.Deps{}).Routes() {
		emulator, ok := s.emulators[route.Name]
		if !ok {
			t.Fatalf("route %s %s: no function named %s", route.Method, route.Path, route.Name)
		}
		key := route.Method + " " + route.Path
		mux.Handle(key, emulator.Route(key, "$default", logger))
	}
}

// logInitDurations logs each invoked function's INIT REPORT duration.
func (s *stack) logInitDurations(t testing.TB) {
	t.Helper()

	for _, name := range slices.Sorted(maps.Keys(s.emulators)) {
		if d, ok := s.emulators[name].InitDuration(); ok {
			t.Logf("INIT REPORT %-9s %6.1f ms", name, float64(d.Microseconds())/1000)
		}
	}
}

// logs returns every function's output, for scans.
func (s *stack) logs() string {
	var b strings.Builder
	for _, e := range s.emulators {
		b.WriteString(e.Logs())
	}
	return b.String()
}

func (s *stack) close(t testing.TB) {
	for _, name := range slices.Sorted(maps.Keys(s.emulators)) {
		e := s.emulators[name]
		e.Close()
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, e.Logs())
		}
	}
}

// recorder is a reverse proxy to moto that records the AWS action of each
// request, so a test can check exactly which calls a function makes.
type recorder struct {
	url string

	mu      sync.Mutex
	actions map[string]bool
}

// targetServices maps the X-Amz-Target prefixes of the JSON protocols to
// IAM service prefixes.
var targetServices = map[string]string{
	"DynamoDB_20120810": "dynamodb",
	"TrentService":      "kms",
	"secretsmanager":    "secretsmanager",
}

func newRecorder(t testing.TB, target string) *recorder {
	t.Helper()

	upstream, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	rec := &recorder{actions: map[string]bool{}}

	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)
	rec.url = server.URL
	return rec
}

func (rec *recorder) record(r *http.Request) {
	action := "unknown:" + r.Method + " " + r.URL.Path
	prefix, operation, found := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if service, ok := targetServices[prefix]; ok && found {
		action = service + ":" + operation
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.actions[action] = true
}

func (rec *recorder) recorded() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Sorted(maps.Keys(rec.actions))
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
