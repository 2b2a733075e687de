#!/usr/bin/env bash
# Regenerates packages/worker/test/fixtures/kafka-connect/ with Apache Kafka Connect's
# real JsonConverter (versions pinned in pom.xml). Needs a JDK 17+ and Maven.
#   tools/kafka-connect-fixtures/generate.sh [output-dir]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/packages/worker/test/fixtures/kafka-connect}"
repo="${MAVEN_REPO_LOCAL:-$root/.cache/m2}"

cd "$here"
mkdir -p target/classes
mvn -q -B -Dmaven.repo.local="$repo" dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
cp="$(cat target/classpath.txt)"
javac --release 17 -encoding UTF-8 -d target/classes -cp "$cp" src/main/java/GenerateFixtures.java
mkdir -p "$out"
java -cp "target/classes:$cp" GenerateFixtures "$out"
