package flowtest_test

import (
	"testing"

	"github.com/gitbook-login/lambda-oauth/internal/testservers"
)

func TestMain(m *testing.M) { testservers.Main(m) }
