# pgcall: PGXS build of the extension, plus the bridge in worker/.
#
#   make                 build the extension (and the bridge, once it exists)
#   make install         install into the PostgreSQL that pg_config names
#   make installcheck    pg_regress suites in test/sql against a running server
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

# The install script name must follow the version in the control file.
ifeq ($(wildcard sql/$(EXTENSION)--$(EXTVERSION).sql),)
$(error sql/$(EXTENSION)--$(EXTVERSION).sql is missing: the control file says $(EXTVERSION))
endif

# Rebuild objects when a header they include changes.
-include $(OBJS:.o=.d)

.PHONY: prove
prove:
	pg_prove --ext .sql -r test/pgtap
