"""Options of the shell, file, shell-local, breakpoint and sleep provisioners."""

from __future__ import annotations

from .schema import (BOOL, DURATION, INTS, MAP, PROVISIONER_COMMON, STRING, STRINGS, Option,
                     Schema, options)

SHELL_EXECUTE_COMMAND = "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"
SHELL_EXECUTE_COMMAND_ENV_FILE = "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}"
SHELL_ENV_VAR_FORMAT = "%s='%s' "
SHELL_ENV_VAR_FORMAT_ENV_FILE = "export %s='%s'\n"
SHELL_LOCAL_EXECUTE_COMMAND = ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]

#: Operating system names that shell-local's ``only_on`` accepts (Go's GOOS values).
SHELL_LOCAL_OS_NAMES = ("darwin", "freebsd", "linux", "openbsd", "solaris", "windows")

SHELL = Schema(
    kind="provisioner",
    type="shell",
    common=PROVISIONER_COMMON,
    summary="Run shell commands or scripts inside the container.",
    options=options(
        Option("inline", STRINGS, [], "Commands, joined into one script.", runtime=True),
        Option("script", STRING, "", "Local script to upload and run.", local_path="file"),
        Option("scripts", STRINGS, [], "Local scripts to upload and run in order.",
               local_path="file"),
        Option("environment_vars", STRINGS, [], "KEY=VALUE pairs set for the commands."),
        Option("env", MAP, {}, "Environment variables; override environment_vars."),
        Option("env_var_format", STRING, "", "printf format of one variable in {{.Vars}}."),
        Option("use_env_var_file", BOOL, False, "Pass the variables through an uploaded file."),
        Option("execute_command", STRING, "", "Command that runs each script.", runtime=True,
               fields=("Path", "Vars", "EnvVarFile")),
        Option("inline_shebang", STRING, "/bin/sh -e", "First line of the inline script."),
        Option("remote_folder", STRING, "/tmp", "Container folder for uploaded scripts."),
        Option("remote_file", STRING, "", "File name of the uploaded script."),
        Option("remote_path", STRING, "", "Full container path of the uploaded script."),
        Option("binary", BOOL, False, "Upload scripts unchanged (no CRLF to LF)."),
        Option("valid_exit_codes", INTS, [0], "Exit codes that count as success."),
        Option("skip_clean", BOOL, False, "Keep the uploaded scripts in the container."),
        Option("expect_disconnect", BOOL, False, "Tolerate a lost connection (SSH only)."),
        Option("start_retry_timeout", DURATION, 300.0, "How long to retry starting a script."),
        Option("pause_after", DURATION, 0.0, "Wait this long after the scripts succeed."),
    ),
)

FILE = Schema(
    kind="provisioner",
    type="file",
    common=PROVISIONER_COMMON,
    summary="Copy files between the host and the container.",
    options=options(
        Option("source", STRING, "", "File or folder to copy (host path for uploads)."),
        Option("sources", STRINGS, [], "Several files or folders to copy."),
        Option("content", STRING, "", "Text to write to the destination."),
        Option("destination", STRING, "", "Where to copy to (required)."),
        Option("direction", STRING, "upload", "upload or download.",
               choices=("upload", "download")),
        Option("generated", BOOL, False, "The source is created during the build."),
    ),
)

SHELL_LOCAL_OPTIONS = options(
    Option("command", STRING, "", "One command to run on the host.", runtime=True),
    Option("inline", STRINGS, [], "Commands, joined into one script.", runtime=True),
    Option("script", STRING, "", "Local script to run.", local_path="file"),
    Option("scripts", STRINGS, [], "Local scripts to run in order.", local_path="file"),
    Option("environment_vars", STRINGS, [], "KEY=VALUE pairs set for the commands."),
    Option("env", MAP, {}, "Environment variables; override environment_vars."),
    Option("env_var_format", STRING, SHELL_ENV_VAR_FORMAT, "printf format of one variable."),
    Option("execute_command", STRINGS, list(SHELL_LOCAL_EXECUTE_COMMAND),
           "Command line that runs the script.", runtime=True,
           fields=("Vars", "Script", "Command")),
    Option("inline_shebang", STRING, "/bin/sh -e", "First line of the inline script."),
    Option("only_on", STRINGS, [], "Run only on these host operating systems.",
           choices=SHELL_LOCAL_OS_NAMES),
    Option("tempfile_extension", STRING, "", "Extension of the temporary script file."),
    Option("use_linux_pathing", BOOL, False, "Windows Subsystem for Linux paths.", ignored=True),
    Option("valid_exit_codes", INTS, [0], "Exit codes that count as success."),
    Option("binary", BOOL, False, "Run scripts unchanged (no CRLF to LF).", ignored=True),
)

SHELL_LOCAL = Schema(
    kind="provisioner",
    type="shell-local",
    common=PROVISIONER_COMMON,
    summary="Run commands or scripts on the host.",
    options=SHELL_LOCAL_OPTIONS,
)

BREAKPOINT = Schema(
    kind="provisioner",
    type="breakpoint",
    common=PROVISIONER_COMMON,
    summary="Pause the build until the user continues.",
    options=options(
        Option("note", STRING, "", "Text shown while paused."),
        Option("disable", BOOL, False, "Skip this breakpoint."),
    ),
)

SLEEP = Schema(
    kind="provisioner",
    type="sleep",
    common=PROVISIONER_COMMON,
    summary="Wait for a while.",
    options=options(
        Option("duration", DURATION, 0.0, "How long to wait."),
    ),
)

PROVISIONERS = {schema.type: schema for schema in (SHELL, FILE, SHELL_LOCAL, BREAKPOINT, SLEEP)}
