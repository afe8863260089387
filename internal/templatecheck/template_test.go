package templatecheck_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/templatecheck"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
	"github.com/gitbook-login/lambda-oauth/shared/seal"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// The runtime settings every function must have. provided.al2023 runs the
// bootstrap that the makefile builder writes; arm64 matches GOARCH in the
// Makefile; Handler is ignored by provided runtimes but SAM requires it.
const (
	wantRuntime      = "provided.al2023"
	wantArchitecture = "arm64"
	wantHandler      = "bootstrap"
	wantBuildMethod  = "makefile"
	wantCodeURI      = "."
)

// goArch maps a Lambda architecture to the GOARCH that builds for it.
var goArch = map[string]string{"arm64": "arm64", "x86_64": "amd64"}

func TestRoutesMatchTemplate(t *testing.T) {
	tpl := loadTemplate(t, deployParams)
	names := functionNames(t)

	type served struct{ function, event string }
	events := map[string][]served{} // by "METHOD /path"
	apis := map[string]bool{}
	for _, id := range sortedKeys(tpl.Functions) {
		for _, ev := range tpl.Functions[id].Events {
			if ev.Type != "HttpApi" {
				t.Errorf("function %s: event %s has Type %s; every route is an HTTP API route", id, ev.Name, ev.Type)
				continue
			}
			key := ev.Method + " " + ev.Path
			events[key] = append(events[key], served{id, ev.Name})
			apis[ev.APIID] = true
		}
	}

	routes := handler.New(handler.Deps{}).Routes()
	for _, route := range routes {
		key := route.Method + " " + route.Path
		got := events[key]
		if len(got) != 1 {
			t.Errorf("route %s: template has %d events for it %v, want exactly 1", key, len(got), got)
			continue
		}
		if name := names[got[0].function]; name != route.Name {
			t.Errorf("route %s: served by %s, which the Makefile builds from ./functions/%s, want ./functions/%s", key, got[0].function, name, route.Name)
		}
	}

	for key, list := range events {
		if !slices.ContainsFunc(routes, func(r handler.Route) bool { return r.Method+" "+r.Path == key }) {
			t.Errorf("template routes %s to %v, but the code serves no such route (handler.Routes)", key, list)
		}
	}

	if len(apis) != 1 || apis[""] {
		t.Errorf("events reference APIs %v, want every route on one HTTP API", sortedKeys(apis))
	}
}

func TestFunctionsHaveDocumentedBuildSettings(t *testing.T) {
	tpl := loadTemplate(t, deployParams)

	for _, id := range sortedKeys(tpl.Functions) {
		f := tpl.Functions[id]
		t.Run(id, func(t *testing.T) {
			if f.Runtime != wantRuntime {
				t.Errorf("Runtime = %q, want %q", f.Runtime, wantRuntime)
			}
			if !slices.Equal(f.Architectures, []string{wantArchitecture}) {
				t.Errorf("Architectures = %q, want [%s]", f.Architectures, wantArchitecture)
			}
			if f.Handler != wantHandler {
				t.Errorf("Handler = %q, want %q", f.Handler, wantHandler)
			}
			if f.BuildMethod != wantBuildMethod {
				t.Errorf("Metadata.BuildMethod = %q, want %q", f.BuildMethod, wantBuildMethod)
			}
			if f.CodeURI != wantCodeURI {
				t.Errorf("CodeUri = %q, want %q: the makefile builder runs the Makefile in CodeUri", f.CodeURI, wantCodeURI)
			}
		})
	}
}

func TestMakefileBuildsEveryFunction(t *testing.T) {
	tpl := loadTemplate(t, deployParams)
	targets, err := templatecheck.ReadBuildTargets(makefilePath)
	if err != nil {
		t.Fatalf("read build targets: %v", err)
	}

	for _, id := range sortedKeys(tpl.Functions) {
		target, ok := targets[id]
		if !ok {
			t.Errorf("Makefile has no target build-%s writing into $(ARTIFACTS_DIR), which sam build runs for function %s", id, id)
			continue
		}
		if !strings.Contains(target.Recipe, "-o $(ARTIFACTS_DIR)/bootstrap") {
			t.Errorf("build-%s does not write $(ARTIFACTS_DIR)/bootstrap:\n%s", id, target.Recipe)
		}
		if !strings.Contains(target.Recipe, "GOOS=linux") || !strings.Contains(target.Recipe, "CGO_ENABLED=0") {
			t.Errorf("build-%s must build a static linux binary (CGO_ENABLED=0 GOOS=linux):\n%s", id, target.Recipe)
		}
		main := filepath.Join(root, target.Package, "main.go")
		if _, err := os.Stat(main); err != nil {
			t.Errorf("build-%s builds %s, but %s is missing: %v", id, target.Package, main, err)
		}
	}

	for id := range targets {
		if _, ok := tpl.Functions[id]; !ok {
			t.Errorf("Makefile target build-%s names no function in template.yaml", id)
		}
	}

	// Each function name has routes, so no built function is unreachable.
	byName := routesByName()
	for id, target := range targets {
		if len(byName[target.Folder()]) == 0 {
			t.Errorf("build-%s builds ./functions/%s, which serves no route in handler.Routes", id, target.Folder())
		}
	}
}

func TestMakefileArchitectureMatchesTemplate(t *testing.T) {
	data, err := os.ReadFile(makefilePath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^GOARCH \?= (\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("Makefile sets no default GOARCH (a line GOARCH ?= <arch>)")
	}
	if got, want := string(m[1]), goArch[wantArchitecture]; got != want {
		t.Errorf("Makefile GOARCH ?= %s, want %s for the template's %s", got, want, wantArchitecture)
	}
}

func TestTableMatchesStore(t *testing.T) {
	tpl := loadTemplate(t, deployParams)
	if len(tpl.Tables) != 1 {
		t.Fatalf("template declares %d DynamoDB tables %v, want 1", len(tpl.Tables), sortedKeys(tpl.Tables))
	}

	for _, table := range tpl.Tables {
		if table.PartitionKey != store.AttrKey {
			t.Errorf("table %s: partition key %q, want store.AttrKey %q", table.LogicalID, table.PartitionKey, store.AttrKey)
		}
		if table.PartitionKeyType != "S" {
			t.Errorf("table %s: partition key type %q, want S (keys are base64url strings)", table.LogicalID, table.PartitionKeyType)
		}
		if table.SortKey != "" {
			t.Errorf("table %s: has sort key %q; the store writes items by partition key alone", table.LogicalID, table.SortKey)
		}
		if table.TTLAttribute != store.AttrExpiresAt || !table.TTLEnabled {
			t.Errorf("table %s: TTL attribute %q (enabled %v), want %q enabled, the attribute the store writes", table.LogicalID, table.TTLAttribute, table.TTLEnabled, store.AttrExpiresAt)
		}

		for _, f := range tpl.Functions {
			if got := f.Environment["TABLE_NAME"]; got != templatecheck.RefMarker(table.LogicalID) {
				t.Errorf("function %s: TABLE_NAME = %q, want %s", f.LogicalID, got, templatecheck.RefMarker(table.LogicalID))
			}
		}
	}
}

// policyCases are parameter sets that change the policies' resources: the
// stack's own key and secret, or existing ones plus a previous key.
var policyCases = map[string]map[string]string{
	"created key and secret": deployParams,
	"existing key and secret, previous key": withParams(map[string]string{
		"ExistingKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
		"PreviousKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555",
		"ClientSecretArn":   "arn:aws:secretsmanager:us-east-1:123456789012:secret:gitbook-client-AbCdEf",
	}),
}

func TestPoliciesGrantExactlyTheCodesActions(t *testing.T) {
	names := functionNames(t)

	for caseName, params := range policyCases {
		tpl := loadTemplate(t, params)
		for _, id := range sortedKeys(tpl.Functions) {
			f := tpl.Functions[id]
			t.Run(caseName+"/"+id, func(t *testing.T) {
				want, ok := handler.AWSActions[names[id]]
				if !ok {
					t.Fatalf("handler.AWSActions has no entry for function %q", names[id])
				}

				var granted []string
				for _, s := range f.Statements {
					if s.Effect != "Allow" {
						t.Errorf("statement %s: Effect %q; the policies only allow", s.Sid, s.Effect)
					}
					granted = append(granted, s.Actions...)
				}
				slices.Sort(granted)
				sortedWant := slices.Sorted(slices.Values(want))
				if !slices.Equal(granted, sortedWant) {
					t.Errorf("policy allows %q, want exactly %q (handler.AWSActions[%q])", granted, sortedWant, names[id])
				}
			})
		}
	}
}

func TestPolicyResourcesAreTheConfiguredOnes(t *testing.T) {
	purpose := seal.DefaultEncryptionContext()["purpose"]

	for caseName, params := range policyCases {
		tpl := loadTemplate(t, params)
		for _, id := range sortedKeys(tpl.Functions) {
			f := tpl.Functions[id]
			t.Run(caseName+"/"+id, func(t *testing.T) {
				for _, s := range f.Statements {
					checkStatement(t, f, s, params, purpose)
				}
			})
		}
	}
}

// checkStatement compares a statement's resources with what the function's
// environment points at: the table, the KMS key (and, for Decrypt only, the
// previous key) and the client secret.
func checkStatement(t *testing.T, f templatecheck.Function, s templatecheck.Statement, params map[string]string, purpose string) {
	t.Helper()

	table := strings.TrimSuffix(strings.TrimPrefix(f.Environment["TABLE_NAME"], "{Ref "), "}")
	key := f.Environment["KMS_KEY_ID"]
	for _, action := range s.Actions {
		service, _, _ := strings.Cut(action, ":")
		var want []string
		switch {
		case service == "dynamodb":
			want = []string{templatecheck.GetAttMarker(table, "Arn")}
		case action == "kms:Decrypt" && params["PreviousKmsKeyArn"] != "":
			want = []string{key, params["PreviousKmsKeyArn"]}
		case service == "kms":
			want = []string{key}
		case service == "secretsmanager":
			want = []string{f.Environment["GITBOOK_CLIENT_SECRET_ARN"]}
		default:
			t.Errorf("statement %s: action %s is outside DynamoDB, KMS and Secrets Manager", s.Sid, action)
			continue
		}
		if !slices.Equal(s.Resources, want) {
			t.Errorf("statement %s: %s on %q, want %q", s.Sid, action, s.Resources, want)
		}
		if service == "kms" {
			if got := fmt.Sprint(s.Condition["StringEquals"]); got != fmt.Sprint(map[string]any{"kms:EncryptionContext:purpose": purpose}) {
				t.Errorf("statement %s: %s condition %v, want StringEquals kms:EncryptionContext:purpose = %q, the sealer's encryption context", s.Sid, action, s.Condition, purpose)
			}
		}
	}
}
