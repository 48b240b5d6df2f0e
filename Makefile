# berth: build the appliance, boot it, test it. See README.md.
#
#   make run     build the appliance with the default config and boot it under QEMU
#   make test    every test: unit tests on this machine, appliance tests in QEMU
#   make bench   benchmarks (boot-to-ready time beside the kernel's floor)
#   make deps    install packages and unpack Debian's cloud kernel into build/
#   make image   build/vmlinuz, build/initramfs.img and the bootable disk build/berth.img;
#                CONFIG=file.toml embeds another config

SHELL   := /bin/sh
BUILD   ?= build
CONFIG  ?= examples/default.toml
GO      ?= $(shell command -v go || echo /usr/local/go/bin/go)
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
LDFLAGS := -s -w -X main.commit=$(COMMIT)
GOENV   := CGO_ENABLED=0 GOFLAGS=-trimpath

.PHONY: all deps image berth run test unit-test appliance-test bench vet clean

all: image

deps:
	BUILD=$(BUILD) ./image/deps.sh

# The berth binary is rebuilt every time; Go's cache makes that cheap.
berth:
	$(GOENV) $(GO) build -ldflags '$(LDFLAGS)' -o $(BUILD)/berth ./init

image: deps berth
	$(GO) run ./image/cmd/mkimage -berth $(BUILD)/berth -config $(CONFIG) -out $(BUILD)

# DISK=1 boots build/berth.img through the firmware (SeaBIOS; UEFI=1 for OVMF).
run: image
ifeq ($(DISK),1)
	$(GO) run ./qemu/cmd/boot -config $(CONFIG) -disk $(BUILD)/berth.img $(if $(filter 1,$(UEFI)),-uefi)
else
	$(GO) run ./qemu/cmd/boot -config $(CONFIG) -kernel $(BUILD)/vmlinuz -initrd $(BUILD)/initramfs.img
endif

vet:
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) vet -tags appliance ./tests
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }

# The unit tests run with the race detector, which needs cgo (gcc, from
# make deps).
unit-test: deps
	CGO_ENABLED=1 $(GO) test -race ./...

appliance-test: image
	$(GO) test -tags appliance -count=1 -parallel 64 -timeout 20m ./tests -build $(abspath $(BUILD))

test: vet unit-test appliance-test

bench: image
	$(GO) test -tags appliance -run '^$$' -bench . -benchtime 3x -timeout 20m ./tests -build $(abspath $(BUILD))

clean:
	rm -rf $(BUILD)
