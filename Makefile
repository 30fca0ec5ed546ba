# The two commands: `make run` (the game example on port 3000) and `make test` (every test).
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PORT ?= 3000
# ccache hits across checkouts in other folders.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

NPM_DIRS := examples/game/web tests/js tests/storage/interop

.PHONY: run test setup build npm web clean

run: build web
	PORT=$(PORT) SIGNE_STORAGE=$${SIGNE_STORAGE:-sqlite:signe-game.sqlite} $(BUILD_DIR)/examples/signe-example-game

test: build web
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

setup:
	bash tools/bootstrap.sh
	@for dir in $(NPM_DIRS); do \
	  if [ ! -f $$dir/node_modules/.package-lock.json ] || [ $$dir/package-lock.json -nt $$dir/node_modules/.package-lock.json ]; then \
	    echo "npm ci in $$dir"; (cd $$dir && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	  fi; \
	done
	@if [ ! -f $(BUILD_DIR)/CMakeCache.txt ]; then \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSIGNE_WARNINGS_AS_ERRORS=ON; \
	fi

build: setup
	cmake --build $(BUILD_DIR) -j $(JOBS)

web: setup
	cd examples/game/web && npm run --silent build

clean:
	rm -rf $(BUILD_DIR)
