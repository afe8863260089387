package main

import (
	"flag"
	"fmt"
	"io"
	"time"
)

// PricesDate is the date the prices below are stated for.
const PricesDate = "2026-12-04"

// Prices are AWS list prices in US dollars for us-east-1 (N. Virginia), per
// single request, GB-second or GB, as stated on PricesDate. They change:
// check each on its AWS pricing page before relying on a result.
var prices = struct {
	LambdaRequest     float64 // Lambda, per request ($0.20 per million)
	LambdaArmGBSecond float64 // Lambda on arm64, per GB-second, first 7.5 billion GB-s a month
	DynamoWRU         float64 // DynamoDB on-demand, per write request unit ($0.625 per million)
	DynamoRRU         float64 // DynamoDB on-demand, per read request unit ($0.125 per million)
	KMSRequest        float64 // KMS, per request ($0.03 per 10,000)
	SecretsRequest    float64 // Secrets Manager, per API call ($0.05 per 10,000)
	HTTPAPIRequest    float64 // API Gateway HTTP API, per request, first 300 million a month ($1.00 per million)
	LogsIngestGB      float64 // CloudWatch Logs, standard class, per GB ingested
}{
	LambdaRequest:     0.20 / 1e6,
	LambdaArmGBSecond: 0.0000133334,
	DynamoWRU:         0.625 / 1e6,
	DynamoRRU:         0.125 / 1e6,
	KMSRequest:        0.03 / 1e4,
	SecretsRequest:    0.05 / 1e4,
	HTTPAPIRequest:    1.00 / 1e6,
	LogsIngestGB:      0.50,
}

// Goals in US dollars per million operations, API Gateway excluded.
const (
	goalLogin   = 3.00
	goalAccount = 0.40
)

// assumptions are the inputs this machine cannot measure.
type assumptions struct {
	MemoryMB        int
	CPUScale        float64
	DynamoDBMillis  float64
	ExchangeMillis  float64
	AccountMillis   float64
	RevokeMillis    float64
	ColdShare       float64
	TouchShare      float64
	CallbackEnvs    float64
	AccountEnvs     float64
	LoginsPerMonth  float64
	AccountPerMonth float64
	PlatformLogSize float64
}

func defaultAssumptions() *assumptions {
	return &assumptions{
		MemoryMB: 128,
		// Lambda gives one vCPU at 1,769 MB and a share in proportion
		// below, so CPU work measured here on a full core takes up to this
		// many times longer at 128 MB.
		CPUScale:        1769.0 / 128,
		DynamoDBMillis:  5,
		ExchangeMillis:  200,
		AccountMillis:   150,
		RevokeMillis:    150,
		ColdShare:       0.01,
		TouchShare:      0.1,
		CallbackEnvs:    2,
		AccountEnvs:     2,
		LoginsPerMonth:  1e6,
		AccountPerMonth: 1e6,
		PlatformLogSize: 350,
	}
}

func (a *assumptions) register(fs *flag.FlagSet) {
	fs.IntVar(&a.MemoryMB, "memory-mb", a.MemoryMB, "function memory in MB (template.yaml sets 128)")
	fs.Float64Var(&a.CPUScale, "cpu-scale", a.CPUScale, "factor from CPU time measured here to billed time in Lambda")
	fs.Float64Var(&a.DynamoDBMillis, "dynamodb-ms", a.DynamoDBMillis, "latency of one DynamoDB call in the region, ms (estimate)")
	fs.Float64Var(&a.ExchangeMillis, "exchange-ms", a.ExchangeMillis, "latency of GitBook's token exchange, ms (estimate)")
	fs.Float64Var(&a.AccountMillis, "account-ms", a.AccountMillis, "latency of GitBook's account endpoint, ms (estimate)")
	fs.Float64Var(&a.RevokeMillis, "revoke-ms", a.RevokeMillis, "latency of the revocation endpoint, ms (estimate)")
	fs.Float64Var(&a.ColdShare, "cold-share", a.ColdShare, "share of invocations that start a new execution environment")
	fs.Float64Var(&a.TouchShare, "touch-share", a.TouchShare, "share of account requests that move the idle expiry (at most one per SESSION_IDLE_TTL/10 per session)")
	fs.Float64Var(&a.CallbackEnvs, "callback-envs", a.CallbackEnvs, "warm callback execution environments over the month")
	fs.Float64Var(&a.AccountEnvs, "account-envs", a.AccountEnvs, "warm account execution environments over the month")
	fs.Float64Var(&a.LoginsPerMonth, "logins", a.LoginsPerMonth, "logins a month, to share per-environment cache refreshes")
	fs.Float64Var(&a.AccountPerMonth, "accounts", a.AccountPerMonth, "account requests a month, to share per-environment cache refreshes")
	fs.Float64Var(&a.PlatformLogSize, "platform-log-bytes", a.PlatformLogSize, "bytes of Lambda's own START, END and REPORT lines per invocation (estimate)")
}

// line is one cost component, in dollars per million operations.
type line struct {
	name    string
	perMega float64
	note    string
}

// estimate is the cost of one operation.
type estimate struct {
	operation string
	goal      float64 // 0 means none
	lines     []line  // counted towards the goal
	separate  []line  // shown, but outside the goal's definition
	billedMs  float64
}

func (e estimate) total() float64 {
	sum := 0.0
	for _, l := range e.lines {
		sum += l.perMega
	}
	return sum
}

type model struct {
	a         *assumptions
	estimates []estimate
	initTime  time.Duration
	cpu       map[string]time.Duration
	calls     callsFile
}

// hoursPerMonth is the average month (365.25 × 24 / 12).
const hoursPerMonth = 730.5

func newModel(calls callsFile, cpu map[string]time.Duration, initTime time.Duration, a *assumptions) (*model, error) {
	m := &model{a: a, initTime: initTime, cpu: cpu, calls: calls}
	login, err := calls.find(opLogin)
	if err != nil {
		return nil, err
	}
	account, err := calls.find(opAccount)
	if err != nil {
		return nil, err
	}
	logout, err := calls.find(opLogout)
	if err != nil {
		return nil, err
	}
	idle, err := time.ParseDuration(calls.SessionIdleTTL)
	if err != nil {
		return nil, fmt.Errorf("session idle TTL %q: %w", calls.SessionIdleTTL, err)
	}
	sealAge, err := time.ParseDuration(calls.SealDataKeyMaxAge)
	if err != nil {
		return nil, fmt.Errorf("seal data key age %q: %w", calls.SealDataKeyMaxAge, err)
	}
	refresh, err := time.ParseDuration(calls.SecretRefreshEvery)
	if err != nil {
		return nil, fmt.Errorf("secret refresh %q: %w", calls.SecretRefreshEvery, err)
	}

	// per-environment cache refreshes, shared over the month's operations
	refreshesPerMonth := hoursPerMonth * float64(time.Hour) / float64(refresh)
	keysPerMonth := hoursPerMonth * float64(time.Hour) / float64(sealAge)
	loginKMS := a.CallbackEnvs * keysPerMonth / a.LoginsPerMonth
	loginSecrets := a.CallbackEnvs * refreshesPerMonth / a.LoginsPerMonth
	// each hour, every account environment unwraps each data key still in
	// use once: those sealed within the idle lifetime by every callback
	// environment
	keysInUse := a.CallbackEnvs * float64(idle) / float64(sealAge)
	accountKMS := a.AccountEnvs * keysInUse * hoursPerMonth / a.AccountPerMonth

	m.estimates = []estimate{
		m.operation("login (authorize + callback)", goalLogin, login, 2,
			m.cpuOf("Authorize")+m.cpuOf("Callback"), a.ExchangeMillis, 0, loginKMS, loginSecrets),
		m.operation("account request", goalAccount, account, 1,
			m.cpuOf("Account"), a.AccountMillis, a.TouchShare, accountKMS, 0),
		m.operation("logout (with revocation)", 0, logout, 1,
			m.cpuOf("Logout"), a.RevokeMillis, 0, 0, 0),
	}
	return m, nil
}

func (m *model) cpuOf(benchmark string) time.Duration {
	return m.cpu["Benchmark"+benchmark]
}

// operation prices one operation from its measured calls: invocations is
// how many functions it runs, providerMillis the GitBook wait, touch the
// share of extra writes, and kms and secrets the amortized calls.
func (m *model) operation(name string, goal float64, op measured, invocations int, cpu time.Duration, providerMillis, touch, kms, secrets float64) estimate {
	a := m.a
	writes := op.Calls["dynamodb:PutItem"] + op.Calls["dynamodb:DeleteItem"] + op.Calls["dynamodb:UpdateItem"] + touch
	reads := op.Calls["dynamodb:GetItem"]
	calls := writes + reads
	inv := float64(invocations)

	// billed time: waits, CPU scaled to the memory size, a rounded-up
	// millisecond per invocation, and the share of cold starts' init
	cpuMillis := float64(cpu.Microseconds()) / 1000 * a.CPUScale
	initMillis := float64(m.initTime.Microseconds()) / 1000 * a.CPUScale
	billedMs := calls*a.DynamoDBMillis + providerMillis + cpuMillis + inv*(1+a.ColdShare*initMillis)
	gbSeconds := float64(a.MemoryMB) / 1024 * billedMs / 1000

	logBytes := op.LogBytes + inv*a.PlatformLogSize
	return estimate{
		operation: name,
		goal:      goal,
		billedMs:  billedMs,
		lines: []line{
			{"Lambda requests", inv * prices.LambdaRequest * 1e6, fmt.Sprintf("%d invocations", invocations)},
			{"Lambda duration (arm64)", gbSeconds * prices.LambdaArmGBSecond * 1e6, fmt.Sprintf("%.1f ms billed at %d MB", billedMs, a.MemoryMB)},
			{"DynamoDB writes", writes * prices.DynamoWRU * 1e6, fmt.Sprintf("%.2f WRU (items under 1 KB)", writes)},
			{"DynamoDB reads", reads * prices.DynamoRRU * 1e6, fmt.Sprintf("%.2f RRU (strongly consistent, under 4 KB)", reads)},
			{"KMS", kms * prices.KMSRequest * 1e6, fmt.Sprintf("%.4f requests, amortized", kms)},
			{"Secrets Manager", secrets * prices.SecretsRequest * 1e6, fmt.Sprintf("%.4f calls, amortized", secrets)},
		},
		separate: []line{
			{"API Gateway HTTP API", inv * prices.HTTPAPIRequest * 1e6, fmt.Sprintf("%d requests", invocations)},
			{"CloudWatch Logs ingestion", logBytes / 1e9 * prices.LogsIngestGB * 1e6, fmt.Sprintf("%.0f bytes", logBytes)},
		},
	}
}

func (m *model) print(w io.Writer) {
	a := m.a
	fmt.Fprintf(w, "Cost per million operations, US dollars, AWS list prices for us-east-1 as of %s (check them)\n\n", PricesDate)
	for _, e := range m.estimates {
		fmt.Fprintf(w, "%s\n\n| component | $ per million | basis |\n|---|---|---|\n", e.operation)
		for _, l := range e.lines {
			fmt.Fprintf(w, "| %s | %.3f | %s |\n", l.name, l.perMega, l.note)
		}
		fmt.Fprintf(w, "| **total** | **%.3f** | %s |\n", e.total(), verdict(e))
		for _, l := range e.separate {
			fmt.Fprintf(w, "| %s (not in the total) | %.3f | %s |\n", l.name, l.perMega, l.note)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "Inputs:")
	for _, name := range []string{"Authorize", "Callback", "Account", "Logout"} {
		fmt.Fprintf(w, "- cpu-ns/op %s: %s (median of the benchmark runs)\n", name, m.cpuOf(name))
	}
	fmt.Fprintf(w, "- init duration (slowest function, INIT REPORT median): %s\n", m.initTime)
	fmt.Fprintf(w, "- session item size: %d bytes; SESSION_IDLE_TTL %s; data key age %s; secret refresh %s\n",
		m.calls.SessionItemBytes, m.calls.SessionIdleTTL, m.calls.SealDataKeyMaxAge, m.calls.SecretRefreshEvery)
	fmt.Fprintf(w, "- assumptions: memory %d MB, CPU scale %.2f, DynamoDB %.0f ms a call, token exchange %.0f ms, account fetch %.0f ms, revoke %.0f ms,\n",
		a.MemoryMB, a.CPUScale, a.DynamoDBMillis, a.ExchangeMillis, a.AccountMillis, a.RevokeMillis)
	fmt.Fprintf(w, "  cold share %.2f, touch share %.2f, %.0f callback and %.0f account environments, %.0f logins and %.0f account requests a month,\n",
		a.ColdShare, a.TouchShare, a.CallbackEnvs, a.AccountEnvs, a.LoginsPerMonth, a.AccountPerMonth)
	fmt.Fprintf(w, "  %.0f bytes of Lambda platform log lines per invocation\n", a.PlatformLogSize)
}

func verdict(e estimate) string {
	if e.goal == 0 {
		return "no goal"
	}
	if e.total() <= e.goal {
		return fmt.Sprintf("goal <= %.2f met", e.goal)
	}
	return fmt.Sprintf("goal <= %.2f MISSED by %.0f%%", e.goal, 100*(e.total()/e.goal-1))
}
