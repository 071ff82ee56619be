import Link from 'next/link'

export default function NotFound() {
  return (
    <div className="state state-empty">
      <strong>This page does not exist</strong>
      <span className="state-hint">
        Go to the <Link href="/">overview</Link> or the <Link href="/traces">trace list</Link>.
      </span>
    </div>
  )
}
