# SPDX-License-Identifier: GPL-2.0-only
# ipt_NETFLOW in Rust: build, install, demo and tests.
#
#   ./configure [--kdir=DIR]     once per kernel tree (make does it for you
#                                with the running kernel's tree otherwise)
#   make                         the module and the iptables extension
#   make install                 both, then depmod; the operator's command
#                                ipt_netflow with its service and manual
#                                pages, the sources for DKMS, and the SNMP
#                                agent (binary, MIB, systemd unit); each
#                                alone: install-module, install-libxt,
#                                install-command, install-src, install-snmp
#   make install-dkms            the sources, added to DKMS and installed
#                                for the running kernel
#   make command, snmp-agent     the userspace programs alone (cargo)
#   make demo                    boot a VM, load, send traffic, show /proc
#   make check                   every test tier (host, builds, VMs)
#   make bench                   per-packet cost, memory per flow and export
#                                rate against the original C module (VM)
#   make matrix                  the original's 13 configure option sets,
#                                each built warning-free against 6.12
#   make stress                  the stress suite at length (unload, vanishing
#                                interfaces, configuration storms, floods,
#                                hostile packets, exporter faults) on the
#                                debug kernel and 6.12, then long fuzzing

ifneq ($(wildcard config.mk),)
include config.mk
endif

KDIR ?= /lib/modules/$(shell uname -r)/build
KRELEASE ?= $(shell uname -r)
export LIBCLANG_PATH BINDGEN

all: module libxt

config.mk:
	./configure

module: config.mk
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKEFLAGS) modules

libxt: config.mk
	$(MAKE) -C libxt XTABLES_LIBDIR=$(XTABLES_LIBDIR) XT_CFLAGS="$(XT_CFLAGS)"

# The module goes to $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/extra (for
# Debian's stock kernel KMAKEFLAGS carries its KERNELRELEASE); depmod then
# records its dependency on x_tables, so `modprobe ipt_NETFLOW` loads both.
DEPMOD_BASE := $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH))

# ./configure --disable-snmp-agent leaves the agent out of make install.
install: install-module install-libxt install-command install-src \
	$(if $(filter no,$(NF_SNMP_AGENT)),,install-snmp)

install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKEFLAGS) INSTALL_MOD_DIR=extra modules_install
	depmod -a $(DEPMOD_BASE) $(KRELEASE)

install-libxt: libxt
	$(MAKE) -C libxt XTABLES_LIBDIR=$(XTABLES_LIBDIR) install

uninstall: uninstall-module uninstall-libxt uninstall-command uninstall-src uninstall-snmp

uninstall-module:
	rm -f $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/extra/ipt_NETFLOW.ko*
	depmod -a $(DEPMOD_BASE) $(KRELEASE)

uninstall-libxt:
	$(MAKE) -C libxt XTABLES_LIBDIR=$(XTABLES_LIBDIR) uninstall

# The SNMP agent: a userspace AgentX subagent (snmp-agent/, a cargo
# workspace member) that snmpd's `master agentx` serves the MIB through.
# It depends on no crate from crates.io, but cargo reads the index once for
# the workspace's lock file (the host tests' crates). Paths are Debian's
# (net-snmp's MIB directory, systemd's unit directory); DESTDIR stages.
SBINDIR ?= /usr/sbin
MIBDIR ?= /usr/share/snmp/mibs
UNITDIR ?= /lib/systemd/system
SNMP_AGENT := target/release/ipt-netflow-snmp-agent

snmp-agent:
	cargo build --release --locked -p ipt-netflow-snmp-agent

install-snmp: snmp-agent
	install -D -m 0755 $(SNMP_AGENT) $(DESTDIR)$(SBINDIR)/ipt-netflow-snmp-agent
	install -D -m 0644 IPT-NETFLOW-MIB.my $(DESTDIR)$(MIBDIR)/IPT-NETFLOW-MIB.my
	sed 's|@SBINDIR@|$(SBINDIR)|' snmp-agent/ipt-netflow-snmp-agent.service | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(UNITDIR)/ipt-netflow-snmp-agent.service

uninstall-snmp:
	rm -f $(DESTDIR)$(SBINDIR)/ipt-netflow-snmp-agent $(DESTDIR)$(MIBDIR)/IPT-NETFLOW-MIB.my \
		$(DESTDIR)$(UNITDIR)/ipt-netflow-snmp-agent.service

# The operator's command (command/, a workspace member like the agent).
# `ipt_netflow --mode install` builds the module from the sources that
# install-src puts under /usr/src (DKMS's place for them), unless given
# --source.
MANDIR ?= /usr/share/man
VERSION := $(shell cat VERSION)
DKMS_NAME := $(shell sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' dkms.conf)
SRC_DEST ?= /usr/src/$(DKMS_NAME)-$(VERSION)
COMMAND := target/release/ipt_netflow

command:
	IPT_NETFLOW_SOURCE=$(SRC_DEST) cargo build --release --locked -p ipt-netflow-command

install-command: command
	install -D -m 0755 $(COMMAND) $(DESTDIR)$(SBINDIR)/ipt_netflow
	sed 's|@SBINDIR@|$(SBINDIR)|' command/ipt_netflow.service | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(UNITDIR)/ipt_netflow.service
	install -D -m 0644 man/ipt_netflow.8 $(DESTDIR)$(MANDIR)/man8/ipt_netflow.8
	install -D -m 0644 man/ipt_NETFLOW.8 $(DESTDIR)$(MANDIR)/man8/ipt_NETFLOW.8

uninstall-command:
	rm -f $(DESTDIR)$(SBINDIR)/ipt_netflow $(DESTDIR)$(UNITDIR)/ipt_netflow.service \
		$(DESTDIR)$(MANDIR)/man8/ipt_netflow.8 $(DESTDIR)$(MANDIR)/man8/ipt_NETFLOW.8

# The module's sources without build products, where DKMS looks for them.
SRC_EXCLUDES := --exclude=./.git --exclude=./target --exclude=./build --exclude=./fuzz \
	--exclude=./config.mk --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='.*.cmd' --exclude=./Module.symvers \
	--exclude=./modules.order --exclude='*.so' --exclude='bindings_generated.rs' \
	--exclude='*.log'
install-src:
	rm -rf $(DESTDIR)$(SRC_DEST)
	mkdir -p $(DESTDIR)$(SRC_DEST)
	tar -C $(CURDIR) $(SRC_EXCLUDES) -cf - . | tar -C $(DESTDIR)$(SRC_DEST) -xf -

uninstall-src:
	rm -rf $(DESTDIR)$(SRC_DEST)

# As the original's `make dinstall`: the sources added to DKMS, which
# builds and installs the module for the running kernel now, and for each
# new kernel (AUTOINSTALL).
install-dkms: install-src
	dkms add $(SRC_DEST)
	dkms install -m $(DKMS_NAME) -v $(VERSION) -k $(KRELEASE)

uninstall-dkms:
	dkms remove -m $(DKMS_NAME) -v $(VERSION) --all

clean:
	-[ -d "$(KDIR)" ] && $(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKEFLAGS) clean
	$(MAKE) -C libxt clean
	rm -f src/sys/bindings_generated.rs src/params/bindings_generated.rs

distclean: clean
	rm -f config.mk

demo:
	tests/demo.sh

check:
	tests/check.sh

bench:
	tests/bench/bench.sh

matrix:
	tests/matrix.sh

stress:
	tests/stress.sh

.PHONY: all module libxt install install-module install-libxt uninstall uninstall-module \
	uninstall-libxt command install-command uninstall-command install-src uninstall-src \
	install-dkms uninstall-dkms snmp-agent install-snmp uninstall-snmp clean distclean \
	demo check bench matrix stress
