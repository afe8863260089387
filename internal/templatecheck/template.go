// Package templatecheck reads template.yaml with goformation into the few
// facts the code depends on: each function's runtime settings, environment,
// routes and policy statements, and the table's key and TTL attribute. The
// package's tests compare those facts with the code's own tables, and the
// emulator tests start each function with the environment read here.
//
// goformation v7.14.9 leaves two gaps that Load fills. It does not merge
// Globals into the functions, so Load merges them as SAM does. Its default
// Ref and Fn::GetAtt handlers turn references to resources into null, so
// Load replaces them with markers such as "{Ref SessionTable}" and
// "{GetAtt TokenKey.Arn}" that a check can compare and a test can replace
// with a real value.
package templatecheck

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template contains what the code depends on in a SAM template, with Globals
// merged and intrinsic functions resolved for one set of parameter values.
type Template struct {
	Parameters map[string]cloudformation.Parameter // as declared, defaults not overridden
	Functions  map[string]Function                 // by logical ID
	Tables     map[string]Table                    // by logical ID
	Secrets    map[string]Secret                   // by logical ID
}

// Function is an AWS::Serverless::Function after the Globals merge.
type Function struct {
	LogicalID     string
	Runtime       string
	Handler       string
	CodeURI       string
	BuildMethod   string // Metadata.BuildMethod, "makefile" for the SAM makefile builder
	Architectures []string
	Timeout       int // seconds
	MemorySize    int // MB
	Environment   map[string]string
	Events        []Event
	Statements    []Statement // of all inline policy documents, in order
}

// Event is one event source of a function.
type Event struct {
	Name   string
	Type   string // "HttpApi" for the routes of an HTTP API
	Method string
	Path   string
	APIID  string
}

// Statement is one IAM policy statement. Actions and Resources are lists
// even where the template writes a single string.
type Statement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []string
	Condition map[string]any
}

// Table is an AWS::DynamoDB::Table.
type Table struct {
	LogicalID        string
	PartitionKey     string
	PartitionKeyType string // S, N or B
	SortKey          string
	TTLAttribute     string
	TTLEnabled       bool
}

// Secret is an AWS::SecretsManager::Secret.
type Secret struct {
	LogicalID    string
	SecretString string
}

// RefMarker returns the string that Load puts in place of a Ref to a
// resource.
func RefMarker(logicalID string) string { return "{Ref " + logicalID + "}" }

// GetAttMarker returns the marker of Fn::GetAtt logicalID.attribute.
func GetAttMarker(logicalID, attribute string) string {
	return "{GetAtt " + logicalID + "." + attribute + "}"
}

// Load parses the template at path. params sets parameter values; a
// parameter it leaves out takes its Default, and one without a Default is
// an error when the template references it.
func Load(path string, params map[string]string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	r := &resolver{params: params}
	if err := r.readConditions(data); err != nil {
		return nil, err
	}

	parsed, err := goformation.ParseYAMLWithOptions(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        r.ref,
			"Fn::GetAtt": r.getAtt,
			"Fn::If":     r.fnIf,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("goformation rejects %s: %w", path, err)
	}
	if len(r.problems) > 0 {
		return nil, fmt.Errorf("resolve intrinsic functions in %s:\n%s", path, strings.Join(r.problems, "\n"))
	}

	t, err := convert(parsed)
	if err != nil {
		return nil, err
	}
	return t, t.checkResolved()
}

// checkResolved reports a parameter without a value that a function uses.
func (t *Template) checkResolved() error {
	var problems []error
	for _, f := range t.Functions {
		for name, value := range f.Environment {
			if strings.Contains(value, unresolvedPrefix) {
				problems = append(problems, fmt.Errorf("function %s: variable %s is %s: the parameter has no Default, so pass a value to Load", f.LogicalID, name, value))
			}
		}
		for _, s := range f.Statements {
			for _, resource := range s.Resources {
				if strings.Contains(resource, unresolvedPrefix) {
					problems = append(problems, fmt.Errorf("function %s: statement %s names resource %s: the parameter has no Default, so pass a value to Load", f.LogicalID, s.Sid, resource))
				}
			}
		}
	}
	return errors.Join(problems...)
}

func convert(parsed *cloudformation.Template) (*Template, error) {
	globals, err := parsed.GetServerlessGlobalFunction()
	if err != nil {
		globals = &global.Function{}
	}

	t := &Template{
		Parameters: parsed.Parameters,
		Functions:  map[string]Function{},
		Tables:     map[string]Table{},
		Secrets:    map[string]Secret{},
	}
	var problems []error
	for id, fn := range parsed.GetAllServerlessFunctionResources() {
		f, err := convertFunction(id, fn, globals)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		t.Functions[id] = f
	}
	for id, table := range parsed.GetAllDynamoDBTableResources() {
		t.Tables[id] = convertTable(id, table.KeySchema, table.AttributeDefinitions, table.TimeToLiveSpecification)
	}
	for id, secret := range parsed.GetAllSecretsManagerSecretResources() {
		t.Secrets[id] = Secret{LogicalID: id, SecretString: deref(secret.SecretString)}
	}
	return t, errors.Join(problems...)
}

// mergeGlobals applies SAM's rules for Globals: a function's own scalar
// replaces the global one, maps merge with the function's keys winning, and
// lists are joined, globals first.
func mergeGlobals(fn *serverless.Function, g *global.Function) Function {
	f := Function{
		Runtime:     pick(fn.Runtime, g.Runtime),
		Handler:     pick(fn.Handler, g.Handler),
		Timeout:     pick(fn.Timeout, g.Timeout),
		MemorySize:  pick(fn.MemorySize, g.MemorySize),
		Environment: map[string]string{},
	}
	if g.Architectures != nil {
		f.Architectures = append(f.Architectures, *g.Architectures...)
	}
	f.Architectures = append(f.Architectures, fn.Architectures...)

	if g.Environment != nil {
		for name, value := range g.Environment.Variables {
			f.Environment[name] = value
		}
	}
	if fn.Environment != nil {
		for name, value := range fn.Environment.Variables {
			f.Environment[name] = value
		}
	}

	codeURI := fn.CodeUri
	if codeURI == nil {
		codeURI = g.CodeUri
	}
	if codeURI != nil && codeURI.String != nil {
		f.CodeURI = *codeURI.String
	}
	return f
}

func pick[T any](own, global *T) T {
	var zero T
	switch {
	case own != nil:
		return *own
	case global != nil:
		return *global
	}
	return zero
}

func convertFunction(id string, fn *serverless.Function, g *global.Function) (Function, error) {
	f := mergeGlobals(fn, g)
	f.LogicalID = id
	if method, ok := fn.AWSCloudFormationMetadata["BuildMethod"].(string); ok {
		f.BuildMethod = method
	}

	events, err := convertEvents(id, fn.Events)
	if err != nil {
		return f, err
	}
	f.Events = events

	statements, err := convertPolicies(id, fn.Policies)
	if err != nil {
		return f, err
	}
	f.Statements = statements
	return f, nil
}

func convertEvents(id string, sources map[string]serverless.Function_EventSource) ([]Event, error) {
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	sort.Strings(names)

	var events []Event
	for _, name := range names {
		source := sources[name]
		event := Event{Name: name, Type: source.Type}
		if source.Type == "HttpApi" {
			if source.Properties == nil || source.Properties.HttpApiEvent == nil {
				return nil, fmt.Errorf("function %s: event %s has Type HttpApi but goformation could not read its properties as an HTTP API event", id, name)
			}
			api := source.Properties.HttpApiEvent
			event.Method = deref(api.Method)
			event.Path = deref(api.Path)
			event.APIID = deref(api.ApiId)
		}
		events = append(events, event)
	}
	return events, nil
}

// convertPolicies reads inline policy documents only. A SAM policy template
// or a managed policy name hides its actions from this check, so it is an
// error rather than silently skipped.
func convertPolicies(id string, policies *serverless.Function_Policies) ([]Statement, error) {
	if policies == nil {
		return nil, nil
	}

	var documents []serverless.Function_IAMPolicyDocument
	switch {
	case policies.IAMPolicyDocument != nil:
		documents = append(documents, *policies.IAMPolicyDocument)
	case policies.IAMPolicyDocumentArray != nil:
		documents = *policies.IAMPolicyDocumentArray
	default:
		return nil, fmt.Errorf("function %s: Policies is not a list of inline policy documents, so its actions cannot be checked", id)
	}

	var statements []Statement
	for i, document := range documents {
		if len(document.Statement) == 0 {
			return nil, fmt.Errorf("function %s: policy %d has no Statement (a SAM policy template or managed policy?), so its actions cannot be checked", id, i)
		}
		for j, raw := range document.Statement {
			s, err := convertStatement(raw)
			if err != nil {
				return nil, fmt.Errorf("function %s: policy %d, statement %d: %w", id, i, j, err)
			}
			statements = append(statements, s)
		}
	}
	return statements, nil
}

func convertStatement(raw any) (Statement, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return Statement{}, fmt.Errorf("statement is a %T, not an object", raw)
	}

	s := Statement{}
	s.Sid, _ = m["Sid"].(string)
	s.Effect, _ = m["Effect"].(string)
	s.Condition, _ = m["Condition"].(map[string]any)

	var err error
	if s.Actions, err = stringList(m["Action"]); err != nil {
		return s, fmt.Errorf("Action: %w", err)
	}
	if s.Resources, err = stringList(m["Resource"]); err != nil {
		return s, fmt.Errorf("Resource: %w", err)
	}
	if _, has := m["NotAction"]; has {
		return s, errors.New("NotAction grants every other action, which this check rejects")
	}
	return s, nil
}

func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		var out []string
		for _, item := range v {
			inner, err := stringList(item)
			if err != nil {
				return nil, err
			}
			out = append(out, inner...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("value %v is a %T, not a string or list of strings", v, v)
}

func convertTable(id string, keys []dynamodb.Table_KeySchema, definitions []dynamodb.Table_AttributeDefinition, ttl *dynamodb.Table_TimeToLiveSpecification) Table {
	t := Table{LogicalID: id}
	for _, k := range keys {
		switch k.KeyType {
		case "HASH":
			t.PartitionKey = k.AttributeName
		case "RANGE":
			t.SortKey = k.AttributeName
		}
	}
	if i := slices.IndexFunc(definitions, func(d dynamodb.Table_AttributeDefinition) bool { return d.AttributeName == t.PartitionKey }); i >= 0 {
		t.PartitionKeyType = definitions[i].AttributeType
	}
	if ttl != nil {
		t.TTLAttribute = deref(ttl.AttributeName)
		t.TTLEnabled = ttl.Enabled
	}
	return t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
