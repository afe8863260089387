package handler

import (
	"log/slog"
	"time"
)

// Login metrics go out as CloudWatch Embedded Metric Format (EMF). The
// callback's request log line carries an "_aws" block, from which CloudWatch
// Logs extracts LoginSuccess and LoginFailure, so no PutMetricData call or
// metrics agent is needed.
// Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
const (
	metricsNamespace   = "GitBookLogin"
	metricLoginSuccess = "LoginSuccess"
	metricLoginFailure = "LoginFailure"
)

// emfMetadata is the "_aws" member of an EMF log line.
type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"` // unix milliseconds
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// loginMetricAttrs returns the EMF attributes of a callback's log line. Both
// counts are sent on every callback, 0 or 1, so each series has a value per
// minute with traffic and an alarm needs no missing-data rule.
//
// The only dimension is route, whose value is a fixed route name: each
// metric and dimension value is one billed custom metric, so the outcome,
// which has about fifteen values, stays a plain field for Logs Insights.
// A visitor who cancels at the consent page counts as a failure, and a
// repeated callback of a visitor already logged in counts as neither.
func loginMetricAttrs(outcome string, now time.Time) []slog.Attr {
	success, failure := 0, 1
	switch outcome {
	case "login_ok":
		success, failure = 1, 0
	case "state_reused_logged_in":
		failure = 0
	}

	metadata := emfMetadata{
		Timestamp: now.UnixMilli(),
		CloudWatchMetrics: []emfDirective{{
			Namespace:  metricsNamespace,
			Dimensions: [][]string{{"route"}},
			Metrics: []emfMetric{
				{Name: metricLoginSuccess, Unit: "Count"},
				{Name: metricLoginFailure, Unit: "Count"},
			},
		}},
	}

	return []slog.Attr{
		slog.Any("_aws", metadata),
		slog.Int(metricLoginSuccess, success),
		slog.Int(metricLoginFailure, failure),
	}
}
