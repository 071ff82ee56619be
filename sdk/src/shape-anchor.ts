/**
 * Keeps the most recent instance of each class a traced call creates (the span, its recorder, the
 * call) reachable, so V8 keeps their hidden classes between calls.
 *
 * Why: an instance's fields are added one by one in its constructor, each a map transition from
 * the class's initial map, and V8 holds those transitions, and the maps that optimized code was
 * specialized on, only weakly. Between calls no span or call object is alive, so every full
 * collection drops their maps: the SDK's optimized code is thrown away ("embedded weak objects
 * cleared" in `--trace-deopt`: `SpanRecorder.put`, `LeanSpan.setValidAttribute`, …) and the next
 * calls run unoptimized until V8 compiles it again. Measured with `pnpm bench:sdk` (openai 6, 8
 * rounds, every other one with these references): −5 µs of CPU per non-streaming call and −17 µs
 * per stream; with a full collection forced every 600 calls, −10 to −25 µs per call. An object
 * literal does not have this problem (its map is held by the literal's boilerplate), a class
 * instance does.
 *
 * The cost: the last call's span and call objects (its attributes and content included) stay in
 * memory until the next call of the same kind replaces them, or {@link releaseShapes}.
 */

/** Kept instances by their class (its constructor). */
const latest = new Map<object, object>()

/** Keeps `instance` as the live example of `kind` (its class; a base class passes `new.target`). */
export function keepShape(kind: object, instance: object): void {
  latest.set(kind, instance)
}

/** Lets go of every kept instance (at shutdown). */
export function releaseShapes(): void {
  latest.clear()
}
