package flowtest

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gitbook-login/lambda-oauth/internal/devserver"
	"github.com/gitbook-login/lambda-oauth/internal/testservers"
	"github.com/gitbook-login/lambda-oauth/shared/store"
)

// Sites the flows log in for. Only SiteOrigin and SecondSiteOrigin are
// allowed; ForeignOrigin never is.
const (
	SiteOrigin       = "https://docs.example.com"
	SecondSiteOrigin = "https://blog.example.com"
	ForeignOrigin    = "https://evil.example"
)

// Options configure Start.
type Options struct {
	Backend Backend

	// TLS serves the product over https, so REDIRECT_URI is https and
	// cookies get Secure and the __Host- prefix, as in production.
	TLS bool

	// Env overrides the product's variables, such as SESSION_MODE.
	Env map[string]string

	ClientSecret string // random if empty
	TokenFormat  string // the sandbox's default token response format
}

// App is the whole product served by the local runner on 127.0.0.1, with
// its own sandbox provider and table.
type App struct {
	URL      string // base URL, such as https://127.0.0.1:40000
	Server   *devserver.Server
	Provider *Provider
	Table    Table
	Store    *store.Store
	Logs     *LogBuffer

	http *httptest.Server
}

// Start serves the product until the test ends. Logs of the product and
// the sandbox go to App.Logs.
func Start(t testing.TB, opts Options) *App {
	t.Helper()

	logs := &LogBuffer{}
	logger := logs.Logger()

	// The base URL must be known before the product is built, because
	// REDIRECT_URI derives from it, so the listener is opened first.
	listener := httptest.NewUnstartedServer(nil)
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	base := scheme + "://" + listener.Listener.Addr().String()

	provider := StartProvider(t, ProviderOptions{
		RedirectURI:  base + "/callback",
		ClientSecret: opts.ClientSecret,
		TokenFormat:  opts.TokenFormat,
		Logger:       logger,
	})

	env := provider.Env()
	env["ALLOWED_ORIGINS"] = SiteOrigin + "," + SecondSiteOrigin
	env["TABLE_NAME"] = TableName(t)
	if opts.Backend.Start != nil {
		env["DYNAMODB_ENDPOINT"] = opts.Backend.Start(t)
	}
	maps.Copy(env, opts.Env)

	server, err := devserver.New(context.Background(), devserver.Options{
		BaseURL: base,
		Getenv:  func(name string) string { return env[name] },
		Logger:  logger,
	})
	if err != nil {
		listener.Close()
		t.Fatalf("start the local runner: %v", err)
	}
	t.Cleanup(server.Close)

	listener.Config.Handler = server
	if opts.TLS {
		listener.StartTLS()
	} else {
		listener.Start()
	}
	t.Cleanup(listener.Close)

	db := dynamodb.NewFromConfig(testservers.Config(server.Config.DynamoDBEndpoint))
	return &App{
		URL:      base,
		Server:   server,
		Provider: provider,
		Table:    Table{DB: db, Name: server.Config.TableName},
		Store:    store.New(db, server.Config.TableName),
		Logs:     logs,
		http:     listener,
	}
}

// Client returns an HTTP client without cookie jar that trusts the app's
// TLS certificate and does not follow redirects.
func (a *App) Client() *http.Client {
	client := *a.http.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client
}
