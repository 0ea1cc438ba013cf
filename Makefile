# Cinch — run `make help` for the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

CLUSTER_DIR ?= $(CURDIR)/.cluster
KUBECONFIG_LOCAL := $(CLUSTER_DIR)/kubeconfig
export CLUSTER_DIR
GO ?= go
GOTEST ?= $(GO) test
PKGS := ./...
CLUSTER := test/cluster/cluster.sh
IMAGES := test/cluster/images.sh
MODE ?= full
E2E_PARALLEL ?= 4

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build
.PHONY: build
build: ## Build the webhook, worker and kubectl-cinch (kubectl plugin: put bin/kubectl-cinch on PATH) binaries into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/webhook ./cmd/worker ./cmd/kubectl-cinch

.PHONY: images
images: ## Build the scenario and application images and import them into the local cluster.
	$(IMAGES) all

##@ Test
.PHONY: test
test: cluster-up images test-unit test-integration test-alerts manifests-check helm-check test-e2e test-e2e-disruptive ## All tiers (unit, integration, alert rules, manifests, Helm chart, e2e); brings up the local cluster first.

.PHONY: test-unit
test-unit: ## Unit tests of every package (no cluster needed).
	$(GOTEST) -count=1 $(PKGS)

# A Cinch installed in the local cluster (make demo, make install) would also
# harden the namespaces the tests opt in, running next to the tests' own
# workers: the tests need the cluster to themselves.
.PHONY: test-exclusive
test-exclusive:
	@if [ -x $(CLUSTER_DIR)/bin/kube ] && $(CLUSTER_DIR)/bin/kube kubectl --kubeconfig $(KUBECONFIG_LOCAL) get namespace cinch-system >/dev/null 2>&1; then \
		echo "[test] removing the Cinch installed in the local cluster (make demo or make install): its worker would also harden the tests' opted-in namespaces"; \
		CLUSTER_DIR=$(CLUSTER_DIR) KUBECONFIG=$(KUBECONFIG_LOCAL) manifests/overlays/local/install.sh down; \
	fi

.PHONY: test-integration
test-integration: test-exclusive ## Integration tests against the local API server and an in-process NATS.
	CINCH_TEST_KUBECONFIG=$(KUBECONFIG_LOCAL) $(GOTEST) -count=1 -tags integration -run 'Integration' $(PKGS)

.PHONY: test-e2e
test-e2e: test-exclusive ## End-to-end tests on the local cluster with real containers (all but the disruptive ones).
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(GOTEST) -count=1 -tags e2e -parallel $(E2E_PARALLEL) -timeout 45m -skip 'TestDisruptive' ./test/e2e/...

.PHONY: test-e2e-disruptive
test-e2e-disruptive: test-exclusive ## End-to-end tests that stop parts of the control plane (API server outage mid-job), alone.
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(GOTEST) -count=1 -tags e2e -parallel 1 -timeout 15m -run 'TestDisruptive' ./test/e2e/...

GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT := $(CLUSTER_DIR)/bin/golangci-lint-$(GOLANGCI_LINT_VERSION)
$(GOLANGCI_LINT):
	mkdir -p $(CLUSTER_DIR)/bin
	GOBIN=$(CLUSTER_DIR)/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(CLUSTER_DIR)/bin/golangci-lint $@

.PHONY: lint
lint: $(GOLANGCI_LINT) ## gofmt, go vet and golangci-lint (.golangci.yml) for every build tag, both modules.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) vet -tags e2e ./test/e2e/...
	cd test/cluster && $(GO) vet ./cmd/ocipack ./cmd/pause
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags integration ./...
	$(GOLANGCI_LINT) run --build-tags e2e ./test/e2e/...

FUZZTIME ?= 20s
FUZZ_TARGETS := ./pkg/oracle:FuzzMask ./pkg/oracle:FuzzDrain ./pkg/oracle:FuzzBodyLine ./pkg/hardening:FuzzDecodeRecommendation \
	./pkg/hardening:FuzzDecodeChecks ./pkg/admission:FuzzReview ./pkg/admission:FuzzObject \
	./internal/jobs:FuzzDecode ./pkg/signals:FuzzSumUsage ./pkg/signals:FuzzReadBounded ./pkg/signals:FuzzParseMetricsAnnotation ./cmd/webhook/app:FuzzLogLines
.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 20s).
	@set -e; for t in $(FUZZ_TARGETS); do echo "fuzz $$t"; $(GOTEST) -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; done

##@ Benchmarks
.PHONY: bench
bench: ## Go benchmarks of the pure packages (Drain, masking, hardening, admission).
	$(GOTEST) -run '^$$' -bench . -benchmem ./pkg/...

.PHONY: bench-loghub
bench-loghub: ## Log-oracle accuracy and throughput on labelled LogHub logs (LOGHUB=dir, default ../shared/loghub).
	$(GO) run ./test/bench/loghub -data $(or $(LOGHUB),../shared/loghub)

.PHONY: bench-admission
bench-admission: ## Webhook latency over HTTPS at 200/500/1000 req/s, NATS up and down (DURATION=30s; ARGS="-burst 500 -stall 3s" for a burst).
	$(GO) run ./test/bench/admission $(if $(DURATION),-duration $(DURATION)) $(ARGS)

.PHONY: bench-trials
bench-trials: ## Wall time (in units of R) and pod-seconds per workload and strategy on the local cluster (R=20s, WORKLOADS=a,b).
	$(GO) run ./test/bench/trials -kubeconfig $(KUBECONFIG_LOCAL) $(if $(R),-r $(R)) $(if $(WORKLOADS),-workloads $(WORKLOADS))

.PHONY: bench-namespace
bench-namespace: ## Cost (wall, pod-seconds, peak pods, clones, machine CPU) of hardening namespaces of N=1,3,6,12 scenario workloads on the local cluster, and the targets for the largest N (R=15s, a saturated 2-core node; R=60s is the worker's default; ARGS="-alone -before 6" for the references).
	$(GO) run ./test/bench/namespace -kubeconfig $(KUBECONFIG_LOCAL) $(if $(R),-r $(R)) $(ARGS)

##@ Local cluster
.PHONY: cluster-up
cluster-up: ## Start the local cluster (MODE=apiserver for etcd + kube-apiserver only); installs its Debian packages. Idempotent.
	test/cluster/install-deps.sh
	$(CLUSTER) up $(if $(filter apiserver,$(MODE)),--apiserver-only)

.PHONY: cluster-down
cluster-down: ## Stop everything cluster-up started; keeps state in .cluster/.
	$(CLUSTER) down

.PHONY: cluster-status
cluster-status: ## Show the local cluster's processes.
	$(CLUSTER) status

.PHONY: cluster-clean
cluster-clean: cluster-down ## Stop the cluster and delete its state and volumes (keeps the built binaries).
	find $(CLUSTER_DIR) -mindepth 1 -maxdepth 1 ! -name bin ! -name images -exec rm -rf {} +
	rm -rf /tmp/hostpath_pv

##@ Demo
.PHONY: demo
demo: ## The main job: local cluster, install Cinch, harden the example workloads, print recommendations.
	test/demo.sh

##@ Install
PROMTOOL_VERSION ?= v0.316.0
PROMTOOL := $(CLUSTER_DIR)/bin/promtool

.PHONY: images-cinch
images-cinch: ## Build Cinch's image (webhook, worker) and the nats-server image into the local cluster.
	$(IMAGES) cinch nats

.PHONY: install
install: images-cinch ## Install Cinch into the local cluster from manifests/overlays/local.
	manifests/overlays/local/install.sh up

.PHONY: uninstall
uninstall: ## Remove Cinch (and any left-over trial clones) from the local cluster.
	manifests/overlays/local/install.sh down

.PHONY: manifests-check
manifests-check: ## Render every overlay and dry-run the production overlay against the local API server.
	KUBECONFIG=$(KUBECONFIG_LOCAL) manifests/check.sh

HELM_VERSION ?= v4.3.2
HELM := $(CLUSTER_DIR)/bin/helm

.PHONY: helm
helm: ## Build helm into .cluster/bin (HELM_VERSION, default v4.3.2).
	@[ -x $(HELM) ] && [ "$$(cat $(HELM).version 2>/dev/null)" = "$(HELM_VERSION)" ] || { \
		GOBIN=$(CLUSTER_DIR)/bin CGO_ENABLED=0 $(GO) install -trimpath -ldflags=-s helm.sh/helm/$(firstword $(subst ., ,$(HELM_VERSION)))/cmd/helm@$(HELM_VERSION) && \
		echo $(HELM_VERSION) >$(HELM).version; }

.PHONY: helm-check
helm-check: helm ## Lint and render charts/cinch, test it against the kustomize manifests (no drift), dry-run it against the local API server.
	KUBECONFIG=$(KUBECONFIG_LOCAL) HELM=$(HELM) GOTEST="$(GOTEST)" charts/check.sh

.PHONY: promtool
promtool: ## Build promtool into .cluster/bin (PROMTOOL_VERSION, default v0.316.0).
	@[ -x $(PROMTOOL) ] && [ "$$(cat $(PROMTOOL).version 2>/dev/null)" = "$(PROMTOOL_VERSION)" ] || { \
		GOBIN=$(CLUSTER_DIR)/bin CGO_ENABLED=0 $(GO) install -trimpath -ldflags=-s github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION) && \
		echo $(PROMTOOL_VERSION) >$(PROMTOOL).version; }

.PHONY: test-alerts
test-alerts: promtool ## Alert-rule unit tests (promtool test rules) and the metric-name check.
	CINCH_PROMTOOL=$(PROMTOOL) $(GOTEST) -count=1 ./test/alerts/...
