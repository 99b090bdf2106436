'use client';
// Client side: the "?" keyboard shortcuts panel.

const SHORTCUTS: [string, string][] = [
  ['Space', 'play / pause'],
  ['← / →', 'previous / next dataset view time'],
  ['Home', 'back to the home camera'],
  ['drag', 'orbit'],
  ['right drag / shift+drag', 'pan'],
  ['wheel', 'zoom (towards the cursor)'],
  ['click', 'select the object on the active label (replaces its selections)'],
  ['shift+click / alt+click', 'add to / subtract from the selection'],
  ['hover', 'preview what a click would select'],
  ['B', 'brush tool: paint a region (alt: subtract)'],
  ['X', 'box tool: drag a box (alt: subtract)'],
  ['Esc', 'back to the click tool; close this panel'],
  ['[ / ]', 'θ − / + 0.02 (the active selection)'],
  ['H', 'hide / show the active label'],
  ['N', 'new label'],
  ['Delete', "remove the active label's last selection"],
  ['Ctrl+Z', 'undo your last edit (never anyone else\'s)'],
  ['Ctrl+Shift+Z / Ctrl+Y', 'redo'],
  ['F', 'follow the next person in the room (after the last: stop); moving the camera stops too'],
  ['Enter (query box)', 'text selection (shift: add, alt: subtract)'],
  ['E', 'export masks or objects, evaluate against reference masks (owners and annotators)'],
  ['P', 'at a dataset view: its photo instead of the rendered frame, under the masks (again: the frame)'],
  ['?', 'show / hide this panel'],
];

export function ShortcutsPanel({ onClose }: { onClose: () => void }) {
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal" role="dialog" aria-label="keyboard shortcuts" onClick={(e) => e.stopPropagation()} data-testid="shortcuts">
        <div className="modal-head">
          <span>Keyboard shortcuts</span>
          <button className="icon-btn" aria-label="close" onClick={onClose}>
            ×
          </button>
        </div>
        <table className="shortcuts">
          <tbody>
            {SHORTCUTS.map(([key, what]) => (
              <tr key={key}>
                <td>
                  <kbd>{key}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
