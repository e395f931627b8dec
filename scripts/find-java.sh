# Sourced by the launcher and CI: sets JAVA_HOME to a JDK >= 21 and LLMSTACK_JAVA_MAJOR to its version.
# Order: $JAVA_HOME if it is new enough, then the newest JDK under /usr/lib/jvm.
_llmstack_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}
_llmstack_find_java() {
  local candidate major best="" best_major=0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    major=$(_llmstack_java_major "$JAVA_HOME")
    if [ "${major:-0}" -ge 21 ]; then
      export LLMSTACK_JAVA_MAJOR="$major"
      return 0
    fi
  fi
  for candidate in /usr/lib/jvm/*; do
    [ -x "$candidate/bin/javac" ] || continue
    major=$(_llmstack_java_major "$candidate")
    if [ "${major:-0}" -ge 21 ] && [ "${major:-0}" -gt "$best_major" ]; then
      best="$candidate"; best_major="$major"
    fi
  done
  if [ -z "$best" ]; then
    echo "llmstack: no JDK >= 21 found (set JAVA_HOME or install one under /usr/lib/jvm)" >&2
    return 1
  fi
  export JAVA_HOME="$best"
  export LLMSTACK_JAVA_MAJOR="$best_major"
}
_llmstack_find_java
