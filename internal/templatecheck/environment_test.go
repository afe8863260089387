package templatecheck_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/templatecheck"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/secret"
)

// defaultedVariables are the variables the configuration reads that the
// template deliberately leaves out, with the reason.
var defaultedVariables = map[string]string{
	"AWS_REGION":                  "set by Lambda",
	"AWS_LAMBDA_FUNCTION_NAME":    "set by Lambda",
	"AWS_LAMBDA_RUNTIME_API":      "set by Lambda",
	"GITBOOK_CLIENT_SECRET_FIELD": "its default is the field of the JSON that the template's secret holds (checked below)",
	"HANDOFF_TTL":                 "the default (60 s) is also the maximum",
	"UPSTREAM_TIMEOUT":            "the default (4 s) fits the function timeout (checked below)",
	"KMS_ENDPOINT":                "a local stand-in only; empty means the AWS endpoint",
	"SECRETS_MANAGER_ENDPOINT":    "a local stand-in only; empty means the AWS endpoint",
}

// readVariables returns the names config.Load reads from env, and its error.
func readVariables(env map[string]string) (map[string]bool, error) {
	read := map[string]bool{}
	_, err := config.Load(func(name string) string {
		read[name] = true
		return env[name]
	})
	return read, err
}

// configVariables returns every variable the configuration reads, over
// environments that take each branch of config.Load: the deployed one, a
// local one with the plain secret and key, and an empty one.
func configVariables(t *testing.T) map[string]bool {
	t.Helper()

	tpl := loadTemplate(t, deployParams)
	deployed := resolvedEnvironment(t, firstFunction(tpl))
	maps.Copy(deployed, lambdaVariables)

	local := maps.Clone(deployed)
	local["GITBOOK_CLIENT_SECRET_ARN"] = ""
	local["GITBOOK_CLIENT_SECRET"] = "plain-secret"
	local["KMS_KEY_ID"] = ""
	local["TOKEN_ENCRYPTION_KEY"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

	all := map[string]bool{}
	for _, env := range []map[string]string{deployed, local, {}} {
		read, _ := readVariables(env)
		maps.Copy(all, read)
	}
	return all
}

func firstFunction(tpl *templatecheck.Template) templatecheck.Function {
	return tpl.Functions[sortedKeys(tpl.Functions)[0]]
}

func TestTemplateSetsEveryConfigVariable(t *testing.T) {
	read := configVariables(t)
	tpl := loadTemplate(t, deployParams)

	for _, id := range sortedKeys(tpl.Functions) {
		env := tpl.Functions[id].Environment
		for _, name := range sortedKeys(read) {
			_, set := env[name]
			_, defaulted := defaultedVariables[name]
			switch {
			case set && defaulted:
				t.Errorf("function %s: sets %s, which defaultedVariables lists as left out (%s)", id, name, defaultedVariables[name])
			case !set && !defaulted:
				t.Errorf("function %s: the configuration reads %s, which the template neither sets nor lists in defaultedVariables", id, name)
			}
		}
		for _, name := range sortedKeys(env) {
			if !read[name] {
				t.Errorf("function %s: sets %s, which the configuration never reads", id, name)
			}
		}
	}

	for name := range defaultedVariables {
		if !read[name] {
			t.Errorf("defaultedVariables lists %s, which the configuration never reads", name)
		}
	}
}

func TestTemplateEnvironmentLoads(t *testing.T) {
	base := loadTemplate(t, deployParams)
	cases := map[string]map[string]string{"defaults": deployParams}
	for name, p := range base.Parameters {
		for _, v := range p.AllowedValues {
			params := withParams(map[string]string{name: fmt.Sprint(v)})
			if changesEnvironment(t, base, params) {
				cases[fmt.Sprintf("%s=%v", name, v)] = params
			}
		}
	}
	for caseName, params := range policyCases {
		cases[caseName] = params
	}

	for _, caseName := range sortedKeys(cases) {
		tpl := loadTemplate(t, cases[caseName])
		for _, id := range sortedKeys(tpl.Functions) {
			t.Run(caseName+"/"+id, func(t *testing.T) {
				env := resolvedEnvironment(t, tpl.Functions[id])
				maps.Copy(env, lambdaVariables)

				if _, err := config.Load(mapEnv(env)); err != nil {
					t.Errorf("config.Load rejects the template's environment:\n%v", err)
				}
			})
		}
	}
}

// changesEnvironment reports whether params give any function another
// environment than base has, which leaves out parameters such as the log
// retention that no function reads.
func changesEnvironment(t *testing.T, base *templatecheck.Template, params map[string]string) bool {
	t.Helper()

	changed := loadTemplate(t, params)
	for id, f := range changed.Functions {
		if !maps.Equal(f.Environment, base.Functions[id].Environment) {
			return true
		}
	}
	return false
}

func TestDeployParamsPassTheirPatterns(t *testing.T) {
	tpl := loadTemplate(t, deployParams)
	for name, value := range deployParams {
		checkParameterValue(t, tpl, name, value)
	}
}

func TestTimeoutsFitTheFunctionTimeout(t *testing.T) {
	tpl := loadTemplate(t, deployParams)
	cfg, err := config.Load(mapEnv(mergeMaps(resolvedEnvironment(t, firstFunction(tpl)), lambdaVariables)))
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}

	for _, id := range sortedKeys(tpl.Functions) {
		timeout := time.Duration(tpl.Functions[id].Timeout) * time.Second
		if cfg.UpstreamTimeout >= timeout {
			t.Errorf("function %s: Timeout %s, not above the provider call timeout %s, so a slow provider ends the function before its error page", id, timeout, cfg.UpstreamTimeout)
		}
	}
}

func TestCreatedSecretHoldsTheDefaultField(t *testing.T) {
	tpl := loadTemplate(t, deployParams)
	if len(tpl.Secrets) == 0 {
		t.Skip("template creates no secret")
	}

	for id, s := range tpl.Secrets {
		var fields map[string]any
		if err := json.Unmarshal([]byte(s.SecretString), &fields); err != nil {
			t.Errorf("secret %s: SecretString is not a JSON object (%v), but GITBOOK_CLIENT_SECRET_FIELD is left to its default %q", id, err, secret.DefaultField)
			continue
		}
		if _, ok := fields[secret.DefaultField]; !ok {
			t.Errorf("secret %s: SecretString has fields %v, want %q, the field the functions read", id, sortedKeys(fields), secret.DefaultField)
		}
	}
}

// overrideLine matches one "Name=Value" entry of a parameter_overrides list.
var overrideLine = regexp.MustCompile(`^\s*"([A-Za-z0-9]+)=(.*)",?\s*$`)

// readOverrides returns each samconfig.toml environment's deploy parameter
// overrides. It reads the list form only, which samconfig.toml uses.
func readOverrides(t *testing.T) map[string]map[string]string {
	t.Helper()

	data, err := os.ReadFile(samconfigPath)
	if err != nil {
		t.Fatal(err)
	}

	all := map[string]map[string]string{}
	section, inList := "", false
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "["):
			section = strings.Trim(trimmed, "[]")
		case strings.HasPrefix(trimmed, "parameter_overrides"):
			if !strings.HasSuffix(trimmed, "[") {
				t.Fatalf("%s: [%s] parameter_overrides is not a list opened on its line; the check reads only that form", samconfigPath, section)
			}
			inList = true
			all[strings.TrimSuffix(section, ".deploy.parameters")] = map[string]string{}
		case inList && trimmed == "]":
			inList = false
		case inList && trimmed != "" && !strings.HasPrefix(trimmed, "#"):
			m := overrideLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: [%s] entry %q is not \"Name=Value\"", samconfigPath, section, trimmed)
			}
			all[strings.TrimSuffix(section, ".deploy.parameters")][m[1]] = m[2]
		}
	}
	return all
}

func TestSamconfigOverridesAreValid(t *testing.T) {
	environments := readOverrides(t)
	for _, want := range []string{"default", "prod"} {
		if _, ok := environments[want]; !ok {
			t.Errorf("samconfig.toml has no [%s.deploy.parameters] parameter_overrides", want)
		}
	}

	tpl := loadTemplate(t, deployParams)
	for _, envName := range sortedKeys(environments) {
		overrides := environments[envName]
		t.Run(envName, func(t *testing.T) {
			params := map[string]string{}
			for name, value := range overrides {
				if strings.HasPrefix(value, "REPLACE_") {
					// A placeholder the guide asks to replace: check the
					// name, and use a realistic value for the rest.
					value = placeholderValue(t, name)
				}
				checkParameterValue(t, tpl, name, value)
				params[name] = value
			}
			for name, p := range tpl.Parameters {
				if _, set := params[name]; !set && p.Default == nil {
					t.Errorf("parameter %s has no Default and no override, so sam deploy stops to ask for it", name)
				}
			}

			// The guide sets RedirectUri from the second deploy on.
			if params["RedirectUri"] == "" {
				params["RedirectUri"] = deployParams["RedirectUri"]
			}
			checkFunctionsLoad(t, params)
		})
	}
}

func placeholderValue(t *testing.T, name string) string {
	t.Helper()

	samples := map[string]string{
		"GitBookClientId": deployParams["GitBookClientId"],
		"ClientSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gitbook-client-AbCdEf",
	}
	value, ok := samples[name]
	if !ok {
		t.Fatalf("no sample value for the placeholder of parameter %s", name)
	}
	return value
}

func checkParameterValue(t *testing.T, tpl *templatecheck.Template, name, value string) {
	t.Helper()

	p, ok := tpl.Parameters[name]
	if !ok {
		t.Errorf("parameter %s: the template declares no such parameter", name)
		return
	}
	if len(p.AllowedValues) > 0 {
		allowed := false
		for _, v := range p.AllowedValues {
			allowed = allowed || fmt.Sprint(v) == value
		}
		if !allowed {
			t.Errorf("parameter %s=%s: not among AllowedValues %v", name, value, p.AllowedValues)
		}
	}
	if p.AllowedPattern != nil {
		re, err := regexp.Compile("^(?:" + *p.AllowedPattern + ")$")
		if err != nil {
			t.Errorf("parameter %s: AllowedPattern %q: %v", name, *p.AllowedPattern, err)
		} else if !re.MatchString(value) {
			t.Errorf("parameter %s=%s: does not match AllowedPattern %q", name, value, *p.AllowedPattern)
		}
	}
}

func checkFunctionsLoad(t *testing.T, params map[string]string) {
	t.Helper()

	tpl, err := templatecheck.Load(templatePath, params)
	if err != nil {
		t.Fatalf("load with %v: %v", params, err)
	}
	for _, id := range sortedKeys(tpl.Functions) {
		env := mergeMaps(resolvedEnvironment(t, tpl.Functions[id]), lambdaVariables)
		if _, err := config.Load(mapEnv(env)); err != nil {
			t.Errorf("function %s: config.Load rejects the environment:\n%v", id, err)
		}
	}
}

// TestEnvJSONExampleWorksWithSamLocal checks env.json.example as sam local
// start-api applies it: it overrides only variables the template declares,
// and it sets AWS_LAMBDA_FUNCTION_NAME, so the Lambda rules apply.
func TestEnvJSONExampleWorksWithSamLocal(t *testing.T) {
	data, err := os.ReadFile(envJSONPath)
	if err != nil {
		t.Fatal(err)
	}
	var sections map[string]map[string]string
	if err := json.Unmarshal(data, &sections); err != nil {
		t.Fatalf("%s: %v", envJSONPath, err)
	}

	tpl := loadTemplate(t, deployParams)
	for _, id := range sortedKeys(tpl.Functions) {
		f := tpl.Functions[id]
		env := mergeMaps(resolvedEnvironment(t, f), lambdaVariables)

		// Function-specific sections win over Parameters, as in sam local.
		for _, section := range []string{"Parameters", id} {
			for name, value := range sections[section] {
				if _, declared := f.Environment[name]; !declared {
					t.Errorf("%s: %s sets %s, which function %s does not declare, so sam local ignores it", envJSONPath, section, name, id)
				}
				env[name] = examplePlaceholder(name, value)
			}
		}

		if _, err := config.Load(mapEnv(env)); err != nil {
			t.Errorf("function %s under sam local with %s: config.Load rejects it:\n%v", id, envJSONPath, err)
		}
	}
}

// examplePlaceholder fills the REPLACE_ values of env.json.example with the
// kind of value the guide asks for.
func examplePlaceholder(name, value string) string {
	if !strings.HasPrefix(value, "REPLACE_") {
		return value
	}
	if name == "TOKEN_ENCRYPTION_KEY" {
		return "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes
	}
	return "example-" + strings.ToLower(name)
}

func mapEnv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
