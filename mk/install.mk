# mk/install.mk — `make install`, `make uninstall`, `make man`, `make deb`
# (included from the Makefile).  docs/install.md lists what gets installed
# where; tests/install/ checks that the lists below install exactly that.
#
# Folders follow the GNU conventions: prefix (or PREFIX; default /usr/local),
# exec_prefix, bindir, libexecdir, datarootdir, datadir, mandir, DESTDIR.
# BINDIR is not the install folder: it is the build's program folder (bin).

PREFIX      ?= /usr/local
prefix      ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir      ?= $(exec_prefix)/bin
libexecdir  ?= $(exec_prefix)/libexec
datarootdir ?= $(prefix)/share
datadir     ?= $(datarootdir)
mandir      ?= $(datarootdir)/man
man1dir     ?= $(mandir)/man1
pkglibexecdir = $(libexecdir)/samepage
pkgdatadir    = $(datadir)/samepage
INSTALL ?= install
INSTALL_PROGRAM ?= $(INSTALL)
PANDOC  ?= pandoc

# ---- What is installed: one word per file --------------------------------
# Programs built into $(BINDIR), installed into $(bindir).
INSTALL_PROGS := dedup-analyze ksm-sample memload
# dedup-analyze-mpi and its man page, when Open MPI was found (Makefile)
ifneq ($(filter $(BINDIR)/dedup-analyze-mpi,$(PROGS)),)
INSTALL_PROGS += dedup-analyze-mpi
endif
# Scripts from scripts/ for users, installed into $(bindir); NAME:INSTALLED
# installs scripts/NAME under another name (generic names get the prefix
# samepage-, as Debian asks of commands on PATH: scripts/experiment is
# installed as samepage-experiment).
INSTALL_SCRIPTS := esxtop-import mkguest plot-cpu plot-sharing plot-vms \
	plot-bars plot-settle plot-used plot-bench \
	experiment:samepage-experiment report:samepage-report
# Helpers the scripts run, not for PATH, into $(pkglibexecdir): scripts from
# scripts/ and programs from $(BINDIR).
INSTALL_HELPER_SCRIPTS := guestctl libvirt-env qmp mkguest-debian
INSTALL_HELPER_PROGS := memload-static
# Data, installed into $(pkgdatadir) under the same path as in the source
# tree (scripts find them as $SP_DATA/PATH, see scripts/lib/paths.sh).
INSTALL_DATA := VERSION scripts/lib/paths.sh scripts/plot-common.sh \
	$(sort $(wildcard scripts/explib/*.py)) $(sort $(wildcard experiments/*.scenario)) \
	$(sort $(wildcard scripts/benchmarks/*))
# Man pages (section 1): docs/NAME.md becomes NAME.1.
INSTALL_MAN := dedup-analyze ksm-sample memload esxtop-import mkguest plot-sharing \
	samepage-experiment
ifneq ($(filter $(BINDIR)/dedup-analyze-mpi,$(PROGS)),)
INSTALL_MAN += dedup-analyze-mpi
endif
# Further names of a man page: NAME:PAGE installs NAME.1 as `.so` of PAGE.1.
INSTALL_MAN_ALIASES := plot-cpu:plot-sharing plot-vms:plot-sharing plot-bars:plot-sharing \
	plot-settle:plot-sharing plot-used:plot-sharing plot-bench:plot-sharing samepage-report:samepage-experiment
# ---------------------------------------------------------------------------

MAN_OUT := $(INSTALL_MAN:%=$(B)/man/%.1)

.PHONY: man install install-strip uninstall deb
man: $(MAN_OUT)

# Man pages come from docs/ at build time (pandoc), so they follow the docs.
$(B)/man/%.1: docs/%.md mk/man.lua VERSION
	@command -v $(PANDOC) >/dev/null || { echo "man pages need pandoc (Debian package pandoc; make deps)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(PANDOC) -s -f markdown -t man --columns=64 --shift-heading-level-by=-1 --lua-filter=mk/man.lua \
	  -M footer='samepage $(SAMEPAGE_VERSION)' -M header='samepage manual' -o $@ $<

# An installed script finds scripts/lib/paths.sh through a path relative to
# its own folder (so the installed tree can move as a whole); paths.sh gets
# the folders of programs and helpers relative to its own.
rel = $(shell realpath -m --relative-to='$(1)' '$(2)')
SP_LIB_LINE := SP_LIB=$$(dirname "$$(readlink -f "$$0")")
# A script's source name (before the colon) and installed name (after it).
src_name = $(word 1,$(subst :, ,$(1)))
inst_name = $(lastword $(subst :, ,$(1)))
define install_script # NAME or NAME:INSTALLED, destination folder
	sed -e '1s|^#!/usr/bin/env python3$$|#!/usr/bin/python3|' \
	    -e 's|^$(SP_LIB_LINE)/lib;|$(SP_LIB_LINE)/$(call rel,$(2),$(pkgdatadir)/scripts/lib);|' \
	    -e 's|^\(SP_DATA = .*\), "\.\.")$$|\1, "$(call rel,$(2),$(pkgdatadir))")|' \
	    'scripts/$(call src_name,$(1))' > '$(DESTDIR)$(2)/$(call inst_name,$(1))'
	chmod 755 '$(DESTDIR)$(2)/$(call inst_name,$(1))'

endef

install: all man
	$(INSTALL) -d '$(DESTDIR)$(bindir)' '$(DESTDIR)$(pkglibexecdir)' '$(DESTDIR)$(man1dir)'
	$(INSTALL_PROGRAM) -m 755 $(INSTALL_PROGS:%=$(BINDIR)/%) '$(DESTDIR)$(bindir)/'
	$(INSTALL_PROGRAM) -m 755 $(INSTALL_HELPER_PROGS:%=$(BINDIR)/%) '$(DESTDIR)$(pkglibexecdir)/'
	$(foreach s,$(INSTALL_SCRIPTS),$(call install_script,$(s),$(bindir)))
	$(foreach s,$(INSTALL_HELPER_SCRIPTS),$(call install_script,$(s),$(pkglibexecdir)))
	$(foreach f,$(INSTALL_DATA),$(INSTALL) -D -m 644 '$(f)' '$(DESTDIR)$(pkgdatadir)/$(f)';)
	sed -i -e 's|^sp_bindir=$$|sp_bindir=$(call rel,$(pkgdatadir)/scripts/lib,$(bindir))|' \
	       -e 's|^sp_libexecdir=$$|sp_libexecdir=$(call rel,$(pkgdatadir)/scripts/lib,$(pkglibexecdir))|' \
	       '$(DESTDIR)$(pkgdatadir)/scripts/lib/paths.sh'
	$(INSTALL) -m 644 $(MAN_OUT) '$(DESTDIR)$(man1dir)/'
	$(foreach a,$(INSTALL_MAN_ALIASES),echo '.so man1/$(word 2,$(subst :, ,$(a))).1' > '$(DESTDIR)$(man1dir)/$(word 1,$(subst :, ,$(a))).1';)

# install-strip (GNU): the same with the programs stripped
install-strip:
	@$(MAKE) --no-print-directory install INSTALL_PROGRAM='$(INSTALL) -s'

uninstall:
	rm -f $(INSTALL_PROGS:%='$(DESTDIR)$(bindir)/%') \
	      $(foreach s,$(INSTALL_SCRIPTS),'$(DESTDIR)$(bindir)/$(call inst_name,$(s))')
	rm -f $(INSTALL_MAN:%='$(DESTDIR)$(man1dir)/%.1') \
	      $(foreach a,$(INSTALL_MAN_ALIASES),'$(DESTDIR)$(man1dir)/$(word 1,$(subst :, ,$(a))).1')
	rm -f $(INSTALL_HELPER_SCRIPTS:%='$(DESTDIR)$(pkglibexecdir)/%') \
	      $(INSTALL_HELPER_PROGS:%='$(DESTDIR)$(pkglibexecdir)/%')
	rm -f $(INSTALL_DATA:%='$(DESTDIR)$(pkgdatadir)/%')
	-rmdir '$(DESTDIR)$(pkglibexecdir)' 2>/dev/null
	-cd '$(DESTDIR)$(pkgdatadir)' 2>/dev/null && rmdir -p $(sort $(dir $(INSTALL_DATA))) 2>/dev/null; true
	-rmdir '$(DESTDIR)$(pkgdatadir)' 2>/dev/null

include mk/deb.mk
