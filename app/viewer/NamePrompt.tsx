'use client';
// Client side: a first-time guest is asked which name others should see (local mode: names are
// the browser's own, identity.ts). Not modal: the scene works meanwhile under the default name
// ("Guest 42"), and closing the card keeps it. Shown once per browser.
import { useEffect, useState } from 'react';
import type { AnnotationSession } from './annotation';
import { nameIsDefault, saveIdentity } from './identity';
import './access.css';

export function NamePrompt({ annot, name }: { annot: AnnotationSession; name: string }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState('');
  useEffect(() => setOpen(nameIsDefault()), []);
  if (!open) return null;
  const keep = () => {
    saveIdentity(annot.user); // the default, now chosen
    setOpen(false);
  };
  const save = () => {
    if (value.trim()) annot.setUserName(value);
    saveIdentity(annot.user);
    setOpen(false);
  };
  return (
    <form
      className="name-prompt"
      data-testid="name-prompt"
      aria-label="choose your name"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <div className="name-prompt-head">
        <span className="name-prompt-title">What name should others see?</span>
        <button type="button" className="icon-btn icon-btn-sm" aria-label={`keep the name ${name}`} title={`Keep “${name}”`} onClick={keep}>
          ×
        </button>
      </div>
      <div className="muted small">People in this room see it beside your cursor and your edits. You appear as “{name}” until you choose.</div>
      <div className="name-prompt-row">
        <input
          className="input"
          data-testid="name-prompt-input"
          maxLength={60}
          placeholder={name}
          value={value}
          aria-label="your name"
          onChange={(e) => setValue(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') keep();
            e.stopPropagation(); // typing a name is not a shortcut
          }}
        />
        <button type="submit" className="btn btn-sm" data-testid="name-prompt-save">
          {value.trim() ? 'Use this name' : 'Keep'}
        </button>
      </div>
    </form>
  );
}
