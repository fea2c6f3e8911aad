/** The pages the sidecar serves for people, one line each (empty when none is on). */
export function demoPages(baseUrl: string, docs: boolean, page: boolean): string {
  const lines = [
    ...(page ? [`  Web chat (open in a browser):  ${baseUrl}/`] : []),
    ...(docs ? [`  API docs (Swagger UI):         ${baseUrl}/docs`] : []),
  ];
  return lines.join('\n');
}

/** The curl commands `--demo` prints, ready to paste into a POSIX shell. */
export function demoCommands(baseUrl: string, serverHeld: boolean): string {
  // Passthrough mode: the emulator takes any bearer token; held tokens need the client's API key.
  const auth = serverHeld
    ? 'Authorization: Bearer <your API key>'
    : 'Authorization: Bearer demo-token';
  const field = (name: string): string => `sed -E 's/.*"${name}":"([^"]+)".*/\\1/'`;
  return `Try it (paste into a shell):

  BASE=${baseUrl}; AUTH='${auth}'

  # list conversations
  curl -s -H "$AUTH" "$BASE/conversations?limit=5"; echo

  # start a conversation (201 {"response": …})
  R=$(curl -s -H "$AUTH" -d prompt='Hello there' "$BASE/conversations/new"); echo "$R"
  CID=$(echo "$R" | ${field('conversation_id')}); PID=$(echo "$R" | ${field('parent_id')})

  # ask a follow-up after that reply (parent_id = the reply's parent_id)
  curl -s -H "$AUTH" -d prompt='Tell me more' -d parent_id="$PID" "$BASE/conversations/$CID/ask"; echo

  # stream the next answer as server-sent events
  curl -sN -H "$AUTH" -d prompt='Once more, streamed' -d stream=true "$BASE/conversations/$CID/ask"

  # the conversation's messages, oldest first
  curl -s -H "$AUTH" "$BASE/conversations/$CID/messages"; echo

  # delete it (204)
  curl -s -o /dev/null -w '%{http_code}\\n' -X DELETE -H "$AUTH" "$BASE/conversations/$CID"

  # the OpenAI-compatible API (what the openai SDK sends with baseURL "$BASE/v1")
  curl -s -H "$AUTH" -H 'content-type: application/json' \\
    -d '{"model":"auto","messages":[{"role":"user","content":"Hello"}]}' "$BASE/v1/chat/completions"; echo

  # the raw backend protocol through the pass-through
  curl -s -H "$AUTH" "$BASE/backend-api/conversations?offset=0&limit=5"; echo

  # health and readiness
  curl -s "$BASE/healthz"; echo; curl -s "$BASE/readyz"; echo
`;
}
