# Build, check and run the GitBook OAuth Lambda functions.
#
# `make` or `make help` lists the targets. A target shows up there when its
# line ends in `## <help text>`; a line starting with `##@` opens a section.

.DEFAULT_GOAL := help

GO ?= go

# Architecture of the Lambda binaries; template.yaml deploys arm64.
GOARCH ?= arm64
HOST_GOARCH := $(shell $(GO) env GOHOSTARCH)

# The functions under ./functions, one Lambda each.
FUNCTIONS := authorize callback account logout session

BUILD_DIR := build

# lambda.norpc leaves out the legacy RPC runtime that provided.al2023 never
# uses; -trimpath and -s -w drop local paths and debug data from the binary.
GO_BUILD_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: help
help: ## Show this list of targets
	@echo 'Usage: make <target>'
	@awk 'BEGIN { FS = ":.*## " } \
		/^##@/ { printf "\n%s\n", substr($$0, 5); next } \
		/^[a-zA-Z0-9_.-]+:.*## / { printf "  %-24s %s\n", $$1, $$2 }' \
		$(MAKEFILE_LIST)

##@ Build

.PHONY: build build-arm64 build-host
build: build-arm64 build-host ## Build every function for arm64 and the host arch into build/<arch>/<name>/bootstrap

build-arm64: $(FUNCTIONS:%=$(BUILD_DIR)/arm64/%/bootstrap) ## Build every function for Lambda (linux/arm64)

# Linux binaries for the host's architecture run natively under the Lambda
# runtime interface emulator and in Docker, without CPU emulation.
build-host: $(FUNCTIONS:%=$(BUILD_DIR)/$(HOST_GOARCH)/%/bootstrap) ## Build every function for linux on the host arch

# The stem is <arch>/<name>. FORCE runs go build every time, because only
# the Go build cache knows which sources each binary depends on.
$(BUILD_DIR)/%/bootstrap: FORCE
	CGO_ENABLED=0 GOOS=linux GOARCH=$(firstword $(subst /, ,$*)) \
		$(GO) build $(GO_BUILD_FLAGS) -o $@ ./functions/$(lastword $(subst /, ,$*))

.PHONY: clean
clean: ## Remove build/ and the sam build output in .aws-sam/
	rm -rf $(BUILD_DIR) .aws-sam

##@ SAM builder (sam build runs these with ARTIFACTS_DIR set)

# One target per function in template.yaml, named build-<LogicalId> as the
# SAM CLI makefile builder requires. GOARCH defaults to arm64 to match the
# template's Architectures; if that changes to x86_64, run sam build with
# GOARCH=amd64 in the environment.
.PHONY: build-AuthorizeFunction build-CallbackFunction build-AccountFunction
.PHONY: build-LogoutFunction build-SessionFunction
build-AuthorizeFunction: require-artifacts-dir ## Build authorize into $(ARTIFACTS_DIR)/bootstrap
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorize

build-CallbackFunction: require-artifacts-dir ## Build callback into $(ARTIFACTS_DIR)/bootstrap
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/callback

build-AccountFunction: require-artifacts-dir ## Build account into $(ARTIFACTS_DIR)/bootstrap
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/account

build-LogoutFunction: require-artifacts-dir ## Build logout into $(ARTIFACTS_DIR)/bootstrap
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/logout

build-SessionFunction: require-artifacts-dir ## Build session into $(ARTIFACTS_DIR)/bootstrap
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(GO_BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/session

# Without this check, an empty ARTIFACTS_DIR would write /bootstrap.
.PHONY: require-artifacts-dir
require-artifacts-dir:
	@test -n "$(ARTIFACTS_DIR)" || { \
		echo 'ARTIFACTS_DIR is not set: sam build sets it; use "make build" for local binaries.' >&2; \
		exit 2; }

##@ Check

.PHONY: lint-template
lint-template: ## Lint template.yaml with cfn-lint
	cfn-lint template.yaml

##@ Develop

# RUNTIME=emulator serves each route through its function built for the
# host (build-host), under the Lambda runtime interface emulator, in place
# of the handlers in the cmd/dev process. No Docker is needed.
RUNTIME ?= inprocess

.PHONY: dev
dev: $(if $(filter emulator,$(RUNTIME)),build-host) ## Run the functions and a sandbox provider locally (cmd/dev); RUNTIME=emulator runs the built binaries
	DEV_RUNTIME=$(RUNTIME) $(GO) run ./cmd/dev

.PHONY: test
test: ## Run the test suite (scripts/test.sh)
	bash scripts/test.sh

.PHONY: bench
bench: ## Run the benchmarks (bench/run.sh)
	bash bench/run.sh

.PHONY: FORCE
FORCE:
