package devserver

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gitbook-login/lambda-oauth/internal/rie"
	"github.com/gitbook-login/lambda-oauth/shared/config"
	"github.com/gitbook-login/lambda-oauth/shared/handler"
)

// EmulatorOptions select the emulated runtime: each route goes to its
// function's built bootstrap under aws-lambda-rie, one emulator per
// function, instead of to the handler in this process.
type EmulatorOptions struct {
	// Emulator is the path of the aws-lambda-rie binary.
	Emulator string

	// BootstrapDir contains <name>/bootstrap for each function, as
	// `make build-host` writes build/<arch>/.
	BootstrapDir string

	// Output receives the emulators' and the functions' logs; nil discards
	// them.
	Output io.Writer
}

// emulatedTimeout is the function timeout of template.yaml.
const emulatedTimeout = 10 * time.Second

// passedVariables are passed to the emulated functions when set, besides
// the configuration's own: the AWS credentials and region that a local KMS
// or DynamoDB stand-in may need.
var passedVariables = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"}

// mountRoutes serves every route, in this process or through the emulated
// functions.
func (s *Server) mountRoutes(routes []handler.Route, opts Options, getenv func(string) string) error {
	// A method the API has no route for gets API Gateway's own answer, not
	// the example site behind "/".
	paths := map[string]bool{}
	for _, route := range routes {
		if !paths[route.Path] {
			paths[route.Path] = true
			s.mux.HandleFunc(route.Path, notFound)
		}
	}

	if opts.Emulator == nil {
		for _, route := range routes {
			s.mux.Handle(route.Method+" "+route.Path, lambdaRoute(route))
		}
		return nil
	}

	env := emulatedEnv(getenv)
	emulators := map[string]*rie.Emulator{}
	for _, route := range routes {
		emulator, ok := emulators[route.Name]
		if !ok {
			var err error
			emulator, err = startEmulated(route.Name, *opts.Emulator, env)
			if err != nil {
				return err
			}
			s.closers = append(s.closers, emulator.Close)
			emulators[route.Name] = emulator
		}

		key := route.Method + " " + route.Path
		s.mux.Handle(key, emulator.Route(key, "$default", opts.Logger))
	}
	return nil
}

func startEmulated(name string, opts EmulatorOptions, env []string) (*rie.Emulator, error) {
	bootstrap := filepath.Join(opts.BootstrapDir, name, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return nil, fmt.Errorf("function %s is not built (%w): run `make build-host`", name, err)
	}

	return rie.Start(rie.Options{
		Emulator:     opts.Emulator,
		Bootstrap:    bootstrap,
		FunctionName: name,
		Env:          env,
		Timeout:      emulatedTimeout,
		Output:       opts.Output,
	})
}

// emulatedEnv returns the local configuration as NAME=value entries: every
// variable config.Load reads that has a value, and the AWS variables. The
// emulator sets AWS_LAMBDA_FUNCTION_NAME, so the functions apply the Lambda
// rules, which reject the local token key and the plain client secret
// unless the INSECURE_ flags allow them. The flags are set here, because
// both are what a local run uses.
func emulatedEnv(getenv func(string) string) []string {
	values := map[string]string{}
	_, _ = config.Load(func(name string) string {
		value := getenv(name)
		if value != "" {
			values[name] = value
		}
		return value
	})

	for _, name := range passedVariables {
		if value := getenv(name); value != "" {
			values[name] = value
		}
	}
	if values["TOKEN_ENCRYPTION_KEY"] != "" {
		values["INSECURE_ALLOW_LOCAL_TOKEN_KEY"] = "true"
	}
	if values["GITBOOK_CLIENT_SECRET"] != "" {
		values["INSECURE_ALLOW_PLAINTEXT_CLIENT_SECRET"] = "true"
	}

	var env []string
	for name, value := range values {
		env = append(env, name+"="+value)
	}
	slices.Sort(env)
	return env
}

// notFound responds as API Gateway does for a method and path with no route.
func notFound(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"message":"Not Found"}`))
}
