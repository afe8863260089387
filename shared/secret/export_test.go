package secret

import "time"

// SetClock replaces the clock that the refresh and grace limits read.
func SetClock(s *Source, now func() time.Time) { s.now = now }
