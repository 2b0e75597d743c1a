/**
 * Option objects where `undefined` means "not set": every options type of
 * this package accepts `x?: T | undefined` (so an app that forwards its own
 * optional settings compiles under `exactOptionalPropertyTypes`), and an
 * explicit `undefined` must keep the default or the value it would override,
 * never replace it. Spreading `{ ...defaults, ...options }` does replace it;
 * `{ ...defaults, ...definedOnly(options) }` does not.
 *
 * @internal
 */

/** `A` without its `undefined`s: what {@link definedOnly} returns. @internal */
export type DefinedOnly<A> = { [K in keyof A]?: Exclude<A[K], undefined> }

/** Drop the keys whose value is `undefined`. @internal */
export const definedOnly = <A extends object>(options: A | undefined): DefinedOnly<A> =>
  options === undefined
    ? {}
    : Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as DefinedOnly<A>
