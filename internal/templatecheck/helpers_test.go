package templatecheck_test

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/templatecheck"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
)

// root is the module root, seen from this package's folder.
const root = "../.."

var (
	templatePath  = filepath.Join(root, "template.yaml")
	makefilePath  = filepath.Join(root, "Makefile")
	samconfigPath = filepath.Join(root, "samconfig.toml")
	envJSONPath   = filepath.Join(root, "env.json.example")
)

// deployParams are values for the parameters without a Default, shaped like
// a real deployment's. RedirectUri has a Default (empty) but the functions
// refuse to start without it, so every deployment after the first sets it.
var deployParams = map[string]string{
	"GitBookClientId": "gitbook-client-id",
	"AllowedOrigins":  "https://docs.example.com",
	"RedirectUri":     "https://abc123def4.execute-api.us-east-1.amazonaws.com/callback",
}

// Sample values that stand in for a reference to a resource, shaped like
// what CloudFormation returns for it.
var markerSamples = map[string]string{
	templatecheck.RefMarker("SessionTable"):           "gitbook-login-SessionTable-1A2B3C4D5E6F",
	templatecheck.RefMarker("ClientSecret"):           "arn:aws:secretsmanager:us-east-1:123456789012:secret:ClientSecret-AbCdEf",
	templatecheck.GetAttMarker("TokenKey", "Arn"):     "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	templatecheck.GetAttMarker("SessionTable", "Arn"): "arn:aws:dynamodb:us-east-1:123456789012:table/gitbook-login-SessionTable-1A2B3C4D5E6F",
}

// lambdaVariables are set by Lambda itself, and by sam local and the
// emulator, in every function's environment.
var lambdaVariables = map[string]string{
	"AWS_LAMBDA_FUNCTION_NAME": "gitbook-login-AuthorizeFunction-1A2B3C",
	"AWS_LAMBDA_RUNTIME_API":   "127.0.0.1:9001",
	"AWS_REGION":               "us-east-1",
}

// withParams returns deployParams with the given changes.
func withParams(changes map[string]string) map[string]string {
	params := maps.Clone(deployParams)
	maps.Copy(params, changes)
	return params
}

func loadTemplate(t *testing.T, params map[string]string) *templatecheck.Template {
	t.Helper()

	tpl, err := templatecheck.Load(templatePath, params)
	if err != nil {
		t.Fatalf("load %s: %v", templatePath, err)
	}
	if len(tpl.Functions) == 0 {
		t.Fatalf("%s declares no AWS::Serverless::Function", templatePath)
	}
	return tpl
}

// functionNames maps each function's logical ID to its name (the folder
// under functions/ and the Name of its routes) through the Makefile's
// build-<LogicalId> targets, the only place that links the two.
func functionNames(t *testing.T) map[string]string {
	t.Helper()

	targets, err := templatecheck.ReadBuildTargets(makefilePath)
	if err != nil {
		t.Fatalf("read build targets: %v", err)
	}
	names := map[string]string{}
	for id, target := range targets {
		if target.Package == "" {
			t.Errorf("Makefile target build-%s builds no ./functions/<name> package:\n%s", id, target.Recipe)
			continue
		}
		names[id] = target.Folder()
	}
	return names
}

// resolvedEnvironment returns the function's environment with each marker
// replaced by its sample value. A marker without a sample fails the test.
func resolvedEnvironment(t *testing.T, f templatecheck.Function) map[string]string {
	t.Helper()

	env := map[string]string{}
	for name, value := range f.Environment {
		for marker, sample := range markerSamples {
			value = strings.ReplaceAll(value, marker, sample)
		}
		if strings.Contains(value, "{Ref ") || strings.Contains(value, "{GetAtt ") {
			t.Fatalf("function %s: variable %s is %q, which has no sample value in markerSamples", f.LogicalID, name, value)
		}
		env[name] = value
	}
	return env
}

func routesByName() map[string][]handler.Route {
	byName := map[string][]handler.Route{}
	for _, route := range handler.New(handler.Deps{}).Routes() {
		byName[route.Name] = append(byName[route.Name], route)
	}
	return byName
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
