package testservers

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	localkms "github.com/nsmithuk/local-kms/src"
	localkmsconfig "github.com/nsmithuk/local-kms/src/config"
	localkmsdata "github.com/nsmithuk/local-kms/src/data"
)

// LocalKMSAccountID is the account id in the ARNs local-kms returns.
const LocalKMSAccountID = "111122223333"

var configureLocalKMS sync.Once

// LocalKMS serves local-kms in this process on 127.0.0.1 and returns its
// endpoint. Each call gets its own server with its LevelDB in a fresh
// temporary folder. The module's own main listens on every interface, so it
// is never started.
func LocalKMS(t testing.TB) string {
	t.Helper()

	// local-kms reads its region and account from package variables, which
	// every server in this test binary shares.
	configureLocalKMS.Do(func() {
		localkmsconfig.AWSRegion = Region
		localkmsconfig.AWSAccountId = LocalKMSAccountID
	})

	db := localkmsdata.NewDatabase(t.TempDir())
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		localkms.HandleRequest(w, r, db)
	}))

	t.Cleanup(func() {
		server.Close()
		db.Close()
	})

	return server.URL
}
