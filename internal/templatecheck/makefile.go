package templatecheck

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// BuildTarget is a build-<LogicalId> target of the Makefile, which the SAM
// CLI's makefile builder runs with ARTIFACTS_DIR set.
type BuildTarget struct {
	LogicalID string
	Package   string // the Go package it builds, such as ./functions/authorize
	Recipe    string // the recipe lines, joined with newlines
}

// Folder returns the last element of Package, which is the function's name
// (the folder under functions/ and the Name of its routes).
func (b BuildTarget) Folder() string {
	return b.Package[strings.LastIndex(b.Package, "/")+1:]
}

var (
	buildTargetLine = regexp.MustCompile(`^build-([A-Za-z0-9]+):`)
	functionPackage = regexp.MustCompile(`\s(\./functions/[a-z0-9_-]+)\b`)
)

// ReadBuildTargets returns the Makefile's build-<LogicalId> targets by
// logical ID: those whose recipe writes into $(ARTIFACTS_DIR), which leaves
// out local targets such as build-arm64. A target whose recipe builds no
// ./functions/<name> package has an empty Package.
func ReadBuildTargets(path string) (map[string]BuildTarget, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()

	targets := map[string]BuildTarget{}
	var current *BuildTarget
	finish := func() {
		if current != nil && strings.Contains(current.Recipe, "$(ARTIFACTS_DIR)") {
			targets[current.LogicalID] = *current
		}
		current = nil
	}

	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		line := scanner.Text()
		if current != nil && strings.HasPrefix(line, "\t") {
			current.Recipe = strings.TrimPrefix(strings.Join([]string{current.Recipe, strings.TrimSpace(line)}, "\n"), "\n")
			if m := functionPackage.FindStringSubmatch(line); m != nil {
				current.Package = m[1]
			}
			continue
		}

		finish()
		if m := buildTargetLine.FindStringSubmatch(line); m != nil {
			current = &BuildTarget{LogicalID: m[1]}
		}
	}
	finish()

	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return targets, nil
}
