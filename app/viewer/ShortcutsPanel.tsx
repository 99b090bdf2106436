'use client';
// Client side: the "?" keyboard shortcuts panel.

const SHORTCUTS: [string, string][] = [
  ['Space', 'play / pause'],
  ['← / →', 'previous / next dataset view time'],
  ['Home', 'back to the home camera'],
  ['drag', 'orbit'],
  ['right drag / shift+drag', 'pan'],
  ['wheel', 'zoom (towards the cursor)'],
  ['?', 'show / hide this panel'],
  ['Esc', 'close this panel'],
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
