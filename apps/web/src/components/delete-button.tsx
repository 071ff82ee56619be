'use client'
/** A "Delete" button that asks the user to confirm first (queues, rules, objectives). */

export function DeleteButton({ confirm, onDelete }: { confirm: string; onDelete: () => void }) {
  return (
    <button
      type="button"
      className="btn ghost"
      onClick={() => {
        if (window.confirm(confirm)) onDelete()
      }}
    >
      Delete
    </button>
  )
}
