"""Options of the docker builder, as in Packer's docker plugin 1.1."""

from __future__ import annotations

from .schema import (BLOCK, BOOL, BUILDER_COMMON, DURATION, MAP, STRING, STRINGS, Option, Schema,
                     options)

#: Packer's default ``run_command``: a detached container whose shell keeps stdin open.
DEFAULT_RUN_COMMAND = ["-d", "-i", "-t", "--entrypoint=/bin/sh", "--", "{{.Image}}"]

#: Registry credentials of ``login: true``, shared by the docker builder and docker-push.
REGISTRY_CREDENTIALS = (
    Option("login_username", STRING, "", "Registry user name."),
    Option("login_password", STRING, "", "Registry password.", secret=True),
    Option("login_server", STRING, "", "Registry address."),
)

#: Options of ``ecr_login: true``, shared by the docker builder and docker-push.
ECR_LOGIN_OPTIONS = (
    Option("ecr_login", BOOL, False, "Log in to Amazon ECR."),
    Option("aws_access_key", STRING, "", "AWS access key for ECR.", secret=True),
    Option("aws_secret_key", STRING, "", "AWS secret key for ECR.", secret=True),
    Option("aws_token", STRING, "", "AWS session token for ECR.", secret=True),
    Option("aws_profile", STRING, "", "AWS profile for ECR."),
    Option("aws_force_use_public_ecr", BOOL, False, "Use the public ECR gallery."),
)

#: The ``build {}`` block: build the base image from a Dockerfile first.
DOCKERFILE_BUILD = Schema(
    kind="block",
    type="build",
    options=options(
        Option("path", STRING, "", "Dockerfile to build the base image from (required).",
               local_path="file"),
        Option("build_dir", STRING, ".", "Build context directory.", local_path="dir"),
        Option("arguments", MAP, {}, "Build arguments, passed as --build-arg KEY=VALUE."),
        Option("pull", BOOL, True, "Pull newer versions of the Dockerfile's base images."),
        Option("compress", BOOL, False, "Compress the build context (--compress)."),
    ),
)

DOCKER = Schema(
    kind="builder",
    type="docker",
    common=BUILDER_COMMON,
    summary="Start a container from an image, provision it, then commit, export or discard it.",
    ignored_prefixes=("ssh_", "winrm_", "temporary_key_pair_"),
    options=options(
        Option("image", STRING, "", "Base image, as docker pull takes it.", reference="image"),
        Option("commit", BOOL, False, "Commit the container to an image."),
        Option("discard", BOOL, False, "Throw the container away."),
        Option("export_path", STRING, "", "Export the container's filesystem to this tar file.",
               local_path="path"),
        Option("changes", STRINGS, [], "Dockerfile instructions applied at commit."),
        Option("author", STRING, "", "Author of the commit."),
        Option("message", STRING, "", "Commit message."),
        Option("pull", BOOL, True, "Pull the image before starting the container."),
        Option("run_command", STRINGS, list(DEFAULT_RUN_COMMAND),
               "Arguments of docker run; {{.Image}} is the image.", runtime=True,
               fields=("Image",)),
        Option("volumes", MAP, {}, "Bind mounts: host path to container path."),
        Option("container_dir", STRING, "/packer-files",
               "Container folder of Packer's shared temp directory."),
        Option("privileged", BOOL, False, "Run the container privileged."),
        Option("cap_add", STRINGS, [], "Linux capabilities to add."),
        Option("cap_drop", STRINGS, [], "Linux capabilities to drop."),
        Option("device", STRINGS, [], "Host devices to add to the container."),
        Option("tmpfs", STRINGS, [], "tmpfs mounts."),
        Option("runtime", STRING, "", "Container runtime, such as runsc."),
        Option("platform", STRING, "", "Platform to pull and run, such as linux/arm64."),
        Option("exec_user", STRING, "", "User (USER or USER:GROUP) of provisioner commands."),
        Option("fix_upload_owner", BOOL, True, "Give uploaded files to the container's user."),
        Option("pty", BOOL, False, "Allocate a terminal for provisioner commands."),
        Option("docker_path", STRING, "docker", "Path of the docker CLI.", ignored=True),
        Option("windows_container", BOOL, False, "Build a Windows container."),
        Option("login", BOOL, False, "Log in to the registry before pulling."),
        *REGISTRY_CREDENTIALS,
        Option("login_email", STRING, "", "Registry e-mail address.",
               deprecated="Docker no longer uses it; remove it"),
        *ECR_LOGIN_OPTIONS,
        Option("build", BLOCK, None, "Build the base image from a Dockerfile.",
               block=DOCKERFILE_BUILD),
        Option("communicator", STRING, "docker",
               "How provisioners reach the container: docker or none."),
        Option("pause_before_connecting", DURATION, 0.0,
               "Wait this long after the container starts."),
    ),
)

BUILDERS = {"docker": DOCKER}
