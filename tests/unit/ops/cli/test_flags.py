"""controlplane.shell.flags: every spelling weed users type parses to typed values; every mistake is one
line that names the flag and what to fix."""

from __future__ import annotations

import pytest

from controlplane.shell.flags import FlagError, FlagSet, HelpRequested, host_ports, parse_or_exit, positive


def make() -> FlagSet:
    fs = FlagSet("volume", "start a volume server")
    fs.port("port", 8080, "HTTP listen port")
    fs.string("ip.bind", "", "address to listen on")
    fs.string("index", "memory", "needle map", choices=("memory", "leveldb"))
    fs.number("pulseSeconds", 5.0, "heartbeat interval", check=positive)
    fs.boolean("largeDisk", True, "5-byte offsets")
    fs.boolean("fsync", False, "fsync writes")
    fs.strings("master", ("localhost:9333",), "masters", aliases=("mserver",), check=host_ports)
    fs.integers("max", (8,), "volumes per dir", minimum=1)
    fs.strings("dir", ("/tmp",), "dirs")
    return fs


@pytest.mark.parametrize(
    "argv",
    [["-port=9000"], ["-port", "9000"], ["--port", "9000"], ["--port=9000"]],
)
def test_every_spelling_sets_the_value(argv: list[str]) -> None:
    flags = make().parse(argv)
    assert flags.integer("port") == 9000
    assert flags.given("port")


def test_defaults_when_not_given() -> None:
    flags = make().parse([])
    assert flags.integer("port") == 8080
    assert flags.boolean("largeDisk") is True
    assert flags.texts("master") == ("localhost:9333",)
    assert flags.integers("max") == (8,)
    assert not flags.given("port")


def test_bare_boolean_is_true_and_explicit_false_turns_it_off() -> None:
    assert make().parse(["-fsync"]).boolean("fsync") is True
    assert make().parse(["-largeDisk=false"]).boolean("largeDisk") is False
    assert make().parse(["--largeDisk=0"]).boolean("largeDisk") is False
    assert make().parse(["-fsync=T"]).boolean("fsync") is True


def test_boolean_never_takes_the_next_argument() -> None:
    # As in Go: "-fsync -port 1" must not read "-port" as the boolean's value.
    flags = make().parse(["-fsync", "-port", "1"])
    assert flags.boolean("fsync") is True
    assert flags.integer("port") == 1


def test_last_value_wins_and_aliases_set_the_same_flag() -> None:
    flags = make().parse(["-port=1", "-port=2", "-mserver=a:1,b:2"])
    assert flags.integer("port") == 2
    assert flags.texts("master") == ("a:1", "b:2")
    assert flags.given("master")


def test_comma_lists_are_typed_and_trimmed() -> None:
    flags = make().parse(["-max=3, 4", "-dir=/a,/b", "-master="])
    assert flags.integers("max") == (3, 4)
    assert flags.texts("dir") == ("/a", "/b")
    assert flags.texts("master") == ()


def test_dotted_names_and_values_containing_equals() -> None:
    flags = make().parse(["-ip.bind=0.0.0.0", "-dir=/a=b"])
    assert flags.text("ip.bind") == "0.0.0.0"
    assert flags.texts("dir") == ("/a=b",)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-prot=1"], "kelp volume: unknown flag -prot (did you mean -port?)"),
        (["-LARGEDISK"], "kelp volume: unknown flag -LARGEDISK (did you mean -largeDisk?)"),
        (["-zzzz"], "kelp volume: unknown flag -zzzz (see kelp volume --help)"),
        (["-port=abc"], 'kelp volume: -port: "abc" is not an integer'),
        (["-port", "1.5"], 'kelp volume: -port: "1.5" is not an integer'),
        (["-port=70000"], "kelp volume: -port: 70000 is above the maximum 65535"),
        (["-port"], "kelp volume: -port needs a value (e.g. -port=1)"),
        (["-fsync=yes"], 'kelp volume: -fsync: "yes" is not a boolean (use true or false)'),
        (["-pulseSeconds=x"], 'kelp volume: -pulseSeconds: "x" is not a number'),
        (["-pulseSeconds=nan"], 'kelp volume: -pulseSeconds: "nan" is not a finite number'),
        (["-pulseSeconds=0"], "kelp volume: -pulseSeconds: 0.0 must be greater than 0"),
        (["-index=lsm"], 'kelp volume: -index: "lsm" is not one of memory, leveldb'),
        (["-max=1,x"], 'kelp volume: -max: "x" in "1,x" is not an integer'),
        (["-max=0"], "kelp volume: -max: 0 is below the minimum 1"),
        (["-dir=/a,,/b"], 'kelp volume: -dir: empty item in "/a,,/b" (separate values with single commas)'),
        (["-master=nohost"], 'kelp volume: -master: "nohost" is not host:port (e.g. 127.0.0.1:9333)'),
        (["---port=1"], "kelp volume: bad flag syntax: ---port=1"),
        (
            ["extra"],
            'kelp volume: unexpected argument "extra" '
            "(flags start with '-'; see kelp volume --help)",
        ),
        (
            ["-fsync", "false"],
            'kelp volume: unexpected argument "false" '
            "(a boolean flag takes its value after '=': -fsync=false)",
        ),
    ],
)
def test_mistakes_give_one_line_naming_the_fix(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as caught:
        make().parse(argv)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_parse_or_exit_prints_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_or_exit(make(), ["-prot=1"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err == "kelp volume: unknown flag -prot (did you mean -port?)\n"


@pytest.mark.parametrize("word", ["-h", "-help", "--help"])
def test_help_lists_every_flag_with_default_and_doc(word: str) -> None:
    with pytest.raises(HelpRequested) as caught:
        make().parse(["-port=1", word])
    usage = caught.value.usage
    for line in ("-port int", "HTTP listen port (default 8080)", '-index string', 'default "memory"',
                 "-largeDisk", "default true", "alias -mserver", "-max ints", 'default "8"'):
        assert line in usage, line


def test_parse_or_exit_help_goes_to_stdout_with_status_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_or_exit(make(), ["--help"])
    assert caught.value.code == 0
    assert "-pulseSeconds float" in capsys.readouterr().out


def test_double_dash_ends_flags_when_arguments_are_allowed() -> None:
    fs = FlagSet("benchmark", "x", allow_args=True)
    fs.integer("n", 1, "count")
    flags = fs.parse(["-n", "3", "--", "-n", "file"])
    assert flags.integer("n") == 3
    assert flags.args == ("-n", "file")


def test_arguments_after_double_dash_are_refused_when_not_allowed() -> None:
    with pytest.raises(FlagError, match='unexpected argument "file"'):
        make().parse(["-port=1", "--", "file"])


def test_declaring_a_flag_twice_is_a_programming_error() -> None:
    fs = make()
    with pytest.raises(ValueError, match="declared twice"):
        fs.string("mserver", "", "clashes with an alias")
