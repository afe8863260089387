package templatecheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadMini(t *testing.T, params map[string]string) *Template {
	t.Helper()

	tpl, err := Load("testdata/mini.yaml", params)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tpl
}

func TestLoadMergesGlobals(t *testing.T) {
	f := loadMini(t, map[string]string{"Name": "n"}).Functions["First"]

	if f.Runtime != "provided.al2023" {
		t.Errorf("Runtime = %q, want the global provided.al2023", f.Runtime)
	}
	if f.Timeout != 3 {
		t.Errorf("Timeout = %d, want the function's own 3", f.Timeout)
	}
	if !slices.Equal(f.Architectures, []string{"arm64"}) {
		t.Errorf("Architectures = %q, want [arm64]", f.Architectures)
	}
	if f.Environment["MODE"] != "own" {
		t.Errorf("MODE = %q, want the function's own value", f.Environment["MODE"])
	}
	if f.Environment["NAME"] != "n" {
		t.Errorf("NAME = %q, want the global variable with the parameter value n", f.Environment["NAME"])
	}
	if f.Environment["REGION"] != "us-east-1" {
		t.Errorf("REGION = %q, want the pseudo parameter value us-east-1", f.Environment["REGION"])
	}
	if f.BuildMethod != "makefile" || f.Handler != "bootstrap" || f.CodeURI != "." {
		t.Errorf("BuildMethod, Handler, CodeURI = %q, %q, %q", f.BuildMethod, f.Handler, f.CodeURI)
	}
}

func TestLoadMarksResourceReferences(t *testing.T) {
	f := loadMini(t, map[string]string{"Name": "n"}).Functions["First"]

	if got := f.Environment["TABLE"]; got != RefMarker("Table") {
		t.Errorf("TABLE = %q, want %q", got, RefMarker("Table"))
	}
	if got := f.Environment["KEY"]; got != GetAttMarker("Key", "Arn") {
		t.Errorf("KEY = %q, want %q while CreateKey is true", got, GetAttMarker("Key", "Arn"))
	}
	if len(f.Statements) != 1 || !slices.Equal(f.Statements[0].Resources, []string{GetAttMarker("Table", "Arn")}) {
		t.Errorf("Statements = %+v, want one on %s (long-form GetAtt)", f.Statements, GetAttMarker("Table", "Arn"))
	}
	if len(f.Events) != 1 || f.Events[0].Method != "GET" || f.Events[0].Path != "/first" {
		t.Errorf("Events = %+v, want GET /first", f.Events)
	}
}

func TestLoadEvaluatesConditions(t *testing.T) {
	arn := "arn:aws:kms:us-east-1:123456789012:key/k"
	f := loadMini(t, map[string]string{"Name": "n", "KeyArn": arn}).Functions["First"]

	if got := f.Environment["KEY"]; got != arn {
		t.Errorf("KEY = %q, want the parameter %q while CreateKey is false", got, arn)
	}
}

func TestLoadReadsTable(t *testing.T) {
	table := loadMini(t, map[string]string{"Name": "n"}).Tables["Table"]

	if table.PartitionKey != "pk" || table.PartitionKeyType != "S" || table.TTLAttribute != "ttl" || !table.TTLEnabled {
		t.Errorf("Table = %+v, want pk (S) with TTL on ttl", table)
	}
}

func TestLoadRejectsMissingParameter(t *testing.T) {
	_, err := Load("testdata/mini.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "NAME") || !strings.Contains(err.Error(), "Name") {
		t.Errorf("Load without Name: err = %v, want one naming variable NAME and parameter Name", err)
	}
}

func TestLoadRejectsUnknownParameter(t *testing.T) {
	_, err := Load("testdata/mini.yaml", map[string]string{"Name": "n", "Nmae": "typo"})
	if err == nil || !strings.Contains(err.Error(), "Nmae") {
		t.Errorf("Load with parameter Nmae: err = %v, want one naming it", err)
	}
}

func TestLoadRejectsPolicyTemplates(t *testing.T) {
	data, err := os.ReadFile("testdata/mini.yaml")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "        - Statement:\n", "        - DynamoDBReadPolicy: { TableName: !Ref Table }\n        - Statement:\n", 1)
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}

	_, err = Load(path, map[string]string{"Name": "n"})
	if err == nil || !strings.Contains(err.Error(), "First") {
		t.Errorf("Load with a SAM policy template: err = %v, want one naming function First", err)
	}
}

func TestReadBuildTargets(t *testing.T) {
	makefile := "GOARCH ?= arm64\n\nbuild-arm64: a b\n\nbuild-FirstFunction: require-artifacts-dir\n" +
		"\tCGO_ENABLED=0 GOOS=linux \\\n\t\tgo build -o $(ARTIFACTS_DIR)/bootstrap ./functions/first\n\nother:\n\techo\n"
	path := filepath.Join(t.TempDir(), "Makefile")
	if err := os.WriteFile(path, []byte(makefile), 0o600); err != nil {
		t.Fatal(err)
	}

	targets, err := ReadBuildTargets(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 {
		t.Fatalf("targets = %+v, want only build-FirstFunction", targets)
	}
	if got := targets["FirstFunction"]; got.Package != "./functions/first" || got.Folder() != "first" {
		t.Errorf("build-FirstFunction = %+v, want package ./functions/first", got)
	}
}
