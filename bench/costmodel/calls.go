package main

import "fmt"

// Operations the test measures; the model looks them up by these names.
const (
	opLoginFirst      = "login, first in an execution environment"
	opLogin           = "login, warm"
	opAccount         = "account request, warm"
	opAccountFirstKey = "account request, first for a data key in an environment"
	opAccountTouch    = "account request that moves the idle expiry"
	opLogout          = "logout with revocation, warm"
)

// counts maps "service:Operation" to calls per request.
type counts map[string]float64

// measured is one operation's calls and log output per request.
type measured struct {
	Operation string  `json:"operation"`
	Requests  int     `json:"requests"`
	Calls     counts  `json:"calls_per_request"`
	LogBytes  float64 `json:"log_bytes_per_request"`
}

type callsFile struct {
	Operations         []measured `json:"operations"`
	SessionItemBytes   int        `json:"session_item_bytes"`
	StateTTL           string     `json:"state_ttl"`
	SessionIdleTTL     string     `json:"session_idle_ttl"`
	SealDataKeyMaxAge  string     `json:"seal_data_key_max_age"`
	OpenCacheMaxAge    string     `json:"open_cache_max_age"`
	SecretRefreshEvery string     `json:"secret_refresh"`
}

// find returns the operation with that name.
func (f callsFile) find(name string) (measured, error) {
	for _, m := range f.Operations {
		if m.Operation == name {
			return m, nil
		}
	}
	return measured{}, fmt.Errorf("calls file has no operation %q; run the test again", name)
}
