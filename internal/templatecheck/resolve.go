package templatecheck

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// Values of the pseudo parameters. They are fixed so that checks can compare
// resolved strings; none of them is a real account or stack.
var pseudoParameters = map[string]any{
	"AWS::AccountId": "123456789012",
	"AWS::Partition": "aws",
	"AWS::Region":    "us-east-1",
	"AWS::StackName": "template-check",
	"AWS::URLSuffix": "amazonaws.com",
}

// unresolvedPrefix starts the marker of a Ref to a parameter that has no
// value. The marker, not an error, is returned at first, because goformation
// resolves both branches of every Fn::If and only the chosen one matters.
const unresolvedPrefix = "{Unresolved Ref "

// resolver replaces goformation's handlers for Ref, Fn::GetAtt and Fn::If.
type resolver struct {
	params     map[string]string
	parameters map[string]parameter
	resources  map[string]bool
	conditions map[string]bool
	problems   []string
}

type parameter struct {
	Type    string `json:"Type"`
	Default any    `json:"Default"`
}

// readConditions evaluates the Conditions section with goformation's own
// handlers, which turn Fn::Equals, Fn::Not, Fn::And and Fn::Or into booleans
// when their arguments are parameter values. Its EvaluateConditions option
// is not used: it also replaces every resource that has a Condition with a
// boolean, which then fails to parse.
func (r *resolver) readConditions(data []byte) error {
	overrides := map[string]any{}
	for name, value := range r.params {
		overrides[name] = value
	}

	processed, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{ParameterOverrides: overrides})
	if err != nil {
		return fmt.Errorf("read template: %w", err)
	}

	var sections struct {
		Parameters map[string]parameter `json:"Parameters"`
		Resources  map[string]any       `json:"Resources"`
		Conditions map[string]any       `json:"Conditions"`
	}
	if err := json.Unmarshal(processed, &sections); err != nil {
		return fmt.Errorf("read template sections: %w", err)
	}

	r.parameters = sections.Parameters
	r.resources = map[string]bool{}
	for id := range sections.Resources {
		r.resources[id] = true
	}

	for name := range r.params {
		if _, ok := r.parameters[name]; !ok {
			return fmt.Errorf("parameter %s is set but the template declares no such parameter", name)
		}
	}

	r.conditions = map[string]bool{}
	var problems []string
	for name, value := range sections.Conditions {
		b, ok := value.(bool)
		if !ok {
			problems = append(problems, fmt.Sprintf("condition %s evaluates to %v, not true or false", name, value))
			continue
		}
		r.conditions[name] = b
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("evaluate conditions:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}

func (r *resolver) ref(_ string, input any, _ any) any {
	name, ok := input.(string)
	if !ok {
		r.problems = append(r.problems, fmt.Sprintf("Ref of %v (%T), want a name", input, input))
		return nil
	}

	if name == "AWS::NoValue" {
		return nil
	}
	if value, ok := pseudoParameters[name]; ok {
		return value
	}
	if p, ok := r.parameters[name]; ok {
		return r.parameterValue(name, p)
	}
	if r.resources[name] {
		return RefMarker(name)
	}

	r.problems = append(r.problems, fmt.Sprintf("Ref %s names no parameter, pseudo parameter or resource", name))
	return nil
}

// parameterValue returns what Ref returns for a parameter: its value, as a
// number for a Number parameter so that numeric properties still parse.
func (r *resolver) parameterValue(name string, p parameter) any {
	var value any = p.Default
	if v, ok := r.params[name]; ok {
		value = v
	}
	if value == nil {
		return unresolvedPrefix + name + "}"
	}

	if p.Type == "Number" {
		if s, ok := value.(string); ok {
			if n, err := strconv.ParseFloat(s, 64); err == nil {
				return n
			}
		}
		return value
	}
	if n, ok := value.(float64); ok {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return value
}

func (r *resolver) getAtt(_ string, input any, _ any) any {
	var parts []string
	switch v := input.(type) {
	case string:
		parts = strings.SplitN(v, ".", 2)
	case []any:
		for _, p := range v {
			s, _ := p.(string)
			parts = append(parts, s)
		}
	}

	if len(parts) != 2 || !r.resources[parts[0]] || parts[1] == "" {
		r.problems = append(r.problems, fmt.Sprintf("Fn::GetAtt %v does not name a resource and attribute", input))
		return nil
	}
	return GetAttMarker(parts[0], parts[1])
}

func (r *resolver) fnIf(_ string, input any, _ any) any {
	args, ok := input.([]any)
	if !ok || len(args) != 3 {
		r.problems = append(r.problems, fmt.Sprintf("Fn::If %v: want [condition, value if true, value if false]", input))
		return nil
	}

	name, _ := args[0].(string)
	value, ok := r.conditions[name]
	if !ok {
		r.problems = append(r.problems, fmt.Sprintf("Fn::If names condition %v, which the Conditions section does not define", args[0]))
		return nil
	}
	if value {
		return args[1]
	}
	return args[2]
}
