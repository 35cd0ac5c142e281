# pgcall: PGXS build of the extension, plus the bridge in worker/.
#
#   make                 build the extension and the bridge (worker/pgcall-bridge)
#   make install         install both into the PostgreSQL that pg_config names:
#                        the bridge goes to its bindir (pg_config --bindir),
#                        where the embedded mode's supervisor runs it from;
#                        DESTDIR is respected
#   make installcheck    against a running server: pg_regress (test/sql),
#                        isolation (test/specs) and pgTAP (test/pgtap, with
#                        pg_prove; PGTAP=no leaves it out)
#   make dist            the PGXN release archive pgcall-<version>.zip (git archive)
#   make man             packaging/pgcall-bridge.1 from the bridge's option table
#   make sql             the install script of the version in development,
#                        sql/pgcall--B.sql, from the schema's source files
#                        sql/schema/*.sql, and the update scripts
#                        sql/pgcall--A--B.sql from their parts in
#                        sql/update/A--B/ (all committed, like the manual
#                        page; 93-upgrade checks they are current)
#
# The everyday entry points are script/run and script/test, which build,
# install into a private copy of PostgreSQL under .run/ and drive these targets.

EXTENSION  = pgcall
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = pgcall
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard extension/*.c)))
DATA       = $(sort $(wildcard sql/$(EXTENSION)--*.sql))

PG_CPPFLAGS = -std=c11 -D_GNU_SOURCE -Iextension -Wextra -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-sign-compare -Werror \
              -MMD -MP
SHLIB_LINK  = -lcrypto -lz

REGRESS      = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=$(or $(REGRESS_OUTDIR),test) \
               --load-extension=$(EXTENSION)

ISOLATION      = $(sort $(basename $(notdir $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test --outputdir=$(or $(REGRESS_OUTDIR),test)/isolation \
                 --load-extension=$(EXTENSION)

EXTRA_CLEAN = test/results test/regression.diffs test/regression.out $(OBJS:.o=.d)

# No LLVM bitcode: JIT inlining of these functions gains nothing, and the
# build then needs no clang.
override with_llvm := no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The control file's version must be reachable: a full install script for
# it, or an update script that ends at it (docs/releasing.md).
ifeq ($(wildcard sql/$(EXTENSION)--$(EXTVERSION).sql sql/$(EXTENSION)--*--$(EXTVERSION).sql),)
$(error neither sql/$(EXTENSION)--$(EXTVERSION).sql nor an update script to $(EXTVERSION) exists: the control file says $(EXTVERSION))
endif

# Rebuild objects when a header they include changes.
-include $(OBJS:.o=.d)

# The bridge: its own Makefile, told which pg_config to use.  PGXS's CFLAGS
# and CPPFLAGS (server headers, its warnings) are not the bridge's: when
# they came from the environment (dpkg-buildflags) make would pass them on,
# so the bridge gets BRIDGE_CFLAGS and BRIDGE_LDFLAGS instead.
BRIDGE_CFLAGS ?= -O2 -g
.PHONY: bridge install-bridge clean-bridge man dist sql
all: bridge
bridge:
	unset CPPFLAGS; $(MAKE) -C worker PG_CONFIG=$(PG_CONFIG) CFLAGS='$(BRIDGE_CFLAGS)' \
		LDFLAGS='$(BRIDGE_LDFLAGS)' pgcall-bridge

install: install-bridge
install-bridge: bridge
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) worker/pgcall-bridge '$(DESTDIR)$(bindir)/pgcall-bridge'
	$(MKDIR_P) '$(DESTDIR)$(mandir)/man1'
	$(INSTALL_DATA) packaging/pgcall-bridge.1 '$(DESTDIR)$(mandir)/man1/pgcall-bridge.1'

clean: clean-bridge
clean-bridge:
	$(MAKE) -C worker clean

man: bridge
	script/manpage worker/pgcall-bridge >packaging/pgcall-bridge.1

# An update script is its parts in name order; the install script of the
# version in development is the schema's source files in name order
# (docs/releasing.md).  A released install script is never made again.
UPDATE_DIRS    = $(sort $(wildcard sql/update/*--*))
SCHEMA_FILES   = $(sort $(wildcard sql/schema/*.sql))
sql:
	for d in $(UPDATE_DIRS); do cat $$d/*.sql >sql/$(EXTENSION)--$${d##*/}.sql.tmp && \
		mv sql/$(EXTENSION)--$${d##*/}.sql.tmp sql/$(EXTENSION)--$${d##*/}.sql || exit 1; done
	@if grep -q ' sql/$(EXTENSION)--$(EXTVERSION).sql$$' sql/released.sha256; then \
		echo "sql/$(EXTENSION)--$(EXTVERSION).sql is released and never changes: move default_version on first (docs/releasing.md)" >&2; exit 1; fi
	cat $(SCHEMA_FILES) >sql/$(EXTENSION)--$(EXTVERSION).sql.tmp && \
		mv sql/$(EXTENSION)--$(EXTVERSION).sql.tmp sql/$(EXTENSION)--$(EXTVERSION).sql

# PGXN wants a zip whose single top directory is <name>-<version>.
dist:
	git archive --format zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(EXTENSION)-$(EXTVERSION).zip HEAD

.PHONY: prove installcheck-pgtap
prove:
	pg_prove --ext .sql -r test/pgtap

# pgTAP belongs to installcheck (test/README.md says which tier holds what):
# the call flows live there.  A database of its own, created afresh.
PGTAP ?= yes
PGTAP_DB ?= pgcall_installcheck_tap
ifneq ($(PGTAP),no)
installcheck: installcheck-pgtap
endif
installcheck-pgtap:
	@command -v pg_prove >/dev/null || { echo "pg_prove not found: install pgTAP (Debian: postgresql-$(MAJORVERSION)-pgtap libtap-parser-sourcehandler-pgtap-perl), or make installcheck PGTAP=no" >&2; exit 1; }
	dropdb --if-exists $(PGTAP_DB)
	createdb $(PGTAP_DB)
	psql -X -q -v ON_ERROR_STOP=1 -d $(PGTAP_DB) -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION $(EXTENSION)'
	pg_prove -d $(PGTAP_DB) --ext .sql -r test/pgtap
	dropdb $(PGTAP_DB)
