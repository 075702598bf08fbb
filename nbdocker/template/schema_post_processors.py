"""Options of the docker post-processors and of manifest, checksum, shell-local and artifice."""

from __future__ import annotations

from .schema import (BOOL, MAP, POST_PROCESSOR_COMMON, STRING, STRINGS, Option, Schema, options)
from .schema_builders import ECR_LOGIN_OPTIONS, REGISTRY_CREDENTIALS
from .schema_provisioners import SHELL_LOCAL_OPTIONS

CHECKSUM_TYPES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
CHECKSUM_OUTPUT = "packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum"

_DOCKER_PATH = Option("docker_path", STRING, "docker", "Path of the docker CLI.", ignored=True)


def _post_processor(type_: str, summary: str, *items: Option) -> Schema:
    return Schema(kind="post-processor", type=type_, common=POST_PROCESSOR_COMMON,
                  summary=summary, options=options(*items))


DOCKER_TAG = _post_processor(
    "docker-tag", "Tag the image.",
    Option("repository", STRING, "", "Repository to tag the image into (required).",
           reference="repository"),
    Option("tags", STRINGS, [], "Tags; without any, Docker uses latest.", reference="tag"),
    Option("tag", STRINGS, [], "Old name of tags.", reference="tag", replaced_by="tags",
           deprecated="use tags instead; its values were merged into tags"),
    Option("force", BOOL, False, "Force the tag (Docker before 1.12 only).", ignored=True),
    _DOCKER_PATH,
)

DOCKER_PUSH = _post_processor(
    "docker-push", "Push the tagged image to its registry.",
    Option("login", BOOL, False, "Log in to the registry before pushing."),
    *REGISTRY_CREDENTIALS,
    *ECR_LOGIN_OPTIONS,
    Option("platform", STRING, "", "Platform to push."),
    _DOCKER_PATH,
)

DOCKER_IMPORT = _post_processor(
    "docker-import", "Import an exported tar file as an image.",
    Option("repository", STRING, "", "Repository of the imported image.", reference="repository"),
    Option("tag", STRING, "", "Tag of the imported image.", reference="tag"),
    Option("changes", STRINGS, [], "Dockerfile instructions applied at import."),
    Option("platform", STRING, "", "Platform of the imported image."),
    Option("login_email", STRING, "", "Registry e-mail address.",
           deprecated="Docker no longer uses it; remove it"),
    _DOCKER_PATH,
)

DOCKER_SAVE = _post_processor(
    "docker-save", "Save the image to a tar file.",
    Option("path", STRING, "", "Tar file to write (required).", local_path="path"),
    _DOCKER_PATH,
)

MANIFEST = _post_processor(
    "manifest", "Record the build's artifacts in a JSON file.",
    Option("output", STRING, "packer-manifest.json", "Manifest file.", local_path="path"),
    Option("strip_path", BOOL, False, "Record file names without folders."),
    Option("strip_time", BOOL, False, "Record build_time as 0."),
    Option("custom_data", MAP, {}, "Extra data for each entry; may use build data.",
           runtime=True),
)

CHECKSUM = _post_processor(
    "checksum", "Write checksums of the artifact's files.",
    Option("checksum_types", STRINGS, ["md5"], "Hash algorithms.", choices=CHECKSUM_TYPES),
    Option("output", STRING, CHECKSUM_OUTPUT, "Checksum file to write.",
           runtime=True, fields=("BuildName", "BuilderType", "ChecksumType")),
)

SHELL_LOCAL = _post_processor(
    "shell-local", "Run commands or scripts on the host.",
    *SHELL_LOCAL_OPTIONS.values(),
)

ARTIFICE = _post_processor(
    "artifice", "Turn files on the host into the artifact.",
    Option("files", STRINGS, [], "Files of the new artifact (required).", local_path="path"),
)

POST_PROCESSORS = {schema.type: schema for schema in (
    DOCKER_TAG, DOCKER_PUSH, DOCKER_IMPORT, DOCKER_SAVE, MANIFEST, CHECKSUM, SHELL_LOCAL, ARTIFICE)}
