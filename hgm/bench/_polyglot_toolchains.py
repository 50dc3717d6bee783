"""How each polyglot language's exercises are graded: the test command, and what of the
agent's workspace counts.

Every test command starts with :func:`restore_command`: of the agent's workspace it keeps
only the exercise's solution files (and the source files a language lets a solution add
beside them, such as more Java classes in ``src/main/java``); everything else the exercise
ships -- tests, ``files.editor`` files such as Go's ``cases_test.go``, build files -- is put
back as shipped from the hidden-tests folder, and whatever else the agent left is removed.
Then the language's runner starts from the workspace root, as upstream's harness runs it.

The commands use what the toolchains image provides (``sandbox/toolchains.txt``,
``sandbox/toolchains/Dockerfile``): Go 1.23, cargo with Debian's crates, jest under
``/opt/hgm/node``, javac with JUnit 5's console launcher, CMake with Boost.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from hgm.bench.dirbench import DEFAULT_HIDDEN_TESTS_DIR

CARGO_REGISTRY = "/usr/share/cargo/registry"
"""Where Debian's ``librust-*-dev`` packages put crate sources (cargo's source replacement)."""
NODE_MODULES = "/opt/hgm/node/node_modules"
"""jest and the exercises' babel preset in the toolchains image (pinned by package-lock.json)."""
GO_CACHE = "/opt/hgm/go-cache"
"""A Go build cache of the standard packages, filled when the toolchains image is built."""
JAVA_JARS = "/usr/share/java"
_JUNIT = f"{JAVA_JARS}/junit-platform-console-standalone.jar"
_ASSERTJ = f"{JAVA_JARS}/assertj-core.jar"


@dataclass(frozen=True)
class Toolchain:
    """How one language's exercises are tested.

    ``command`` gets the exercise's name and its test files (paths relative to the
    exercise) and returns the shell command that runs them from the workspace root (after
    the restore); ``unskip`` rewrites a test file's text so that tests the exercise ships
    disabled run too; ``needs`` names what the sandbox image must provide; ``extra`` are
    ``find -path`` patterns of files an agent may add to a solution (kept at grading).
    """

    command: Callable[[str, tuple[str, ...]], str]
    needs: str
    unskip: Callable[[str], str] | None = None
    extra: tuple[str, ...] = ()


def _python_command(_name: str, tests: tuple[str, ...]) -> str:
    # pytest is not in the sandbox image; the exercises' tests are unittest test cases.
    modules = " ".join(str(PurePosixPath(t).with_suffix("")).replace("/", ".") for t in tests)
    return f"python3 -m unittest {modules}"


def _go_command(_name: str, _tests: tuple[str, ...]) -> str:
    # $HOME starts empty in every run: start from the image's cache of the standard packages
    # rather than compile them again (a minute of CPU on a busy machine).
    return (
        f'export GOCACHE="$(mktemp -d)/go-build" && '
        f'{{ [ ! -d {GO_CACHE} ] || cp -R {GO_CACHE} "$GOCACHE"; }} && go test ./...'
    )


def _cpp_command(name: str, _tests: tuple[str, ...]) -> str:
    # Upstream's CMakeLists.txt names its target after the folder it sits in, and the
    # workspace is mounted at /work: build through a link named after the exercise.
    link = f'"$d"/{shlex.quote(name)}'
    return (
        f'd=$(mktemp -d) && ln -s "$PWD" {link} && '
        f'cmake -S {link} -B "$d/build" -DEXERCISM_RUN_ALL_TESTS=1 >/dev/null && '
        'cmake --build "$d/build"'
    )


def _rust_command(_name: str, _tests: tuple[str, ...]) -> str:
    replace = (
        "--config 'source.crates-io.replace-with=\"debian\"' "
        f"--config 'source.debian.directory=\"{CARGO_REGISTRY}\"'"
    )
    return f'CARGO_TARGET_DIR="$(mktemp -d)" cargo test --offline {replace} -- --include-ignored'


def _javascript_command(_name: str, _tests: tuple[str, ...]) -> str:
    # package.json's own test script is `jest ./*`; the modules come from the image.
    return f"ln -sfn {NODE_MODULES} node_modules && {NODE_MODULES}/.bin/jest --ci ./*"


def _java_command(_name: str, _tests: tuple[str, ...]) -> str:
    # Debian's Gradle (4.4) cannot read the exercises' build files, and no Maven repository
    # is reachable: compile with javac and run JUnit 5's console launcher directly.
    main = "$(find src/main -name '*.java')"
    test = "$(find src/test -name '*.java')"
    return (
        'd=$(mktemp -d) && mkdir "$d/main" "$d/test" && '
        f'javac -encoding UTF-8 -nowarn -d "$d/main" {main} && '
        f'javac -encoding UTF-8 -nowarn -d "$d/test" -cp "$d/main:{_JUNIT}:{_ASSERTJ}" {test} && '
        "{ [ ! -d src/main/resources ] || cp -R src/main/resources/. \"$d/main\"; } && "
        f'java -jar {_JUNIT} --disable-banner --fail-if-no-tests --details=tree '
        f'--class-path "$d/main:$d/test:{_ASSERTJ}" --scan-class-path'
    )


def _unskip_javascript(text: str) -> str:
    return re.sub(r"\bx(test|it|describe)\(", r"\1(", text)


def _unskip_java(text: str) -> str:
    return re.sub(r"^[ \t]*@Disabled(\(.*?\))?[ \t]*\n", "", text, flags=re.MULTILINE)


TOOLCHAINS: dict[str, Toolchain] = {
    "python": Toolchain(_python_command, "python3 (standard library only)"),
    "go": Toolchain(
        _go_command,
        "go 1.21 or newer (the toolchains image has 1.23)",
        extra=("./*.go",),
    ),
    "rust": Toolchain(
        _rust_command,
        f"cargo, with the crates the exercises use as sources in {CARGO_REGISTRY} "
        "(Debian's librust-*-dev)",
        extra=("./src/*.rs",),
    ),
    "javascript": Toolchain(
        _javascript_command,
        f"node, with jest and the exercises' babel preset in {NODE_MODULES}",
        _unskip_javascript,
    ),
    "java": Toolchain(
        _java_command,
        f"a JDK, and JUnit 5's console launcher and AssertJ in {JAVA_JARS}",
        _unskip_java,
        extra=("./src/main/*.java",),
    ),
    "cpp": Toolchain(
        _cpp_command,
        "cmake, a C++ compiler and Boost date_time",
        extra=("./*.h", "./*.hpp"),
    ),
}
"""Languages the adapter knows, by their folder name in the checkout."""


def restore_command(language: str, solution: tuple[str, ...]) -> str:
    """The shell prefix that keeps only the solution's files of the agent's workspace and
    puts everything else back as the exercise ships it (see the module docstring).

    A file the agent added is kept only where the language's ``extra`` patterns allow and
    it is not named like a test (``*_test.*``, ``*Test.java``, ``*.spec.js``).
    """
    hidden = DEFAULT_HIDDEN_TESTS_DIR
    keep = [f"-path {shlex.quote('./' + name)}" for name in solution]
    for pattern in TOOLCHAINS[language].extra:
        keep.append(
            f"\\( -path {shlex.quote(pattern)} ! -name '*_test.*' ! -name '*Test.java' "
            "! -name '*.spec.*' ! -name '*.test.*' \\)"
        )
    return (
        f"find . -path ./{hidden} -prune -o ! -type d ! \\( {' -o '.join(keep)} \\) "
        "-exec rm -f {} + && "
        "find . -mindepth 1 -depth -type d -empty -delete && "
        f"cp -R {hidden}/. . && rm -rf {hidden} && "
    )


def test_command(language: str, name: str, solution: tuple[str, ...], tests: tuple[str, ...]) -> str:
    """The full test command of an exercise: the restore, then the language's runner."""
    return restore_command(language, solution) + TOOLCHAINS[language].command(name, tests)
