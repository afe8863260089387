// Package browsertest runs a visitor's whole login journey in headless
// Chromium: the example site and its JavaScript client, the login API through
// the same handler code as the Lambda functions (internal/devserver), and the
// sandbox GitBook provider, in both session modes. The tests are in the
// _test.go files; `go test ./internal/browsertest/...` runs them and skips
// them when Chromium is not installed, unless REQUIRE_TEST_SERVERS=1.
package browsertest
