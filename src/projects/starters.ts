/**
 * What a project made in the browser starts with. 'empty': a home page only. 'handbook': a home page and a
 * policies section with two short example policies, to be edited or deleted.
 */
export type Starter = 'empty' | 'handbook';

export const isStarter = (value: unknown): value is Starter => value === 'empty' || value === 'handbook';

/** Front matter values are quoted YAML strings: a name with a colon or a quote stays one value. */
const yamlString = (value: string): string => JSON.stringify(value);

/** The files of a starter for a project of this name, as repository path → Markdown. */
export function starterFiles(starter: Starter, projectName: string): { path: string; content: Buffer }[] {
  const home = `---
title: ${yamlString(projectName)}
classification: internal
sort: 0
---

This is the home page of ${projectName.replace(/[\\`*_[\]<>#]/g, '\\$&')}. Edit it to say what the project is for and who looks after it.
${
  starter === 'handbook'
    ? `
- [Policies](policies/index.md): the rules everyone here works by.
`
    : ''
}`;
  const files: Record<string, string> = { 'index.md': home };
  if (starter === 'handbook') {
    files['policies/index.md'] = `---
title: Policies
classification: internal
sort: 1
---

Each policy is one page. Give it an owner and a review date, and set its classification in the front matter:
public, internal, confidential or restricted.
`;
    files['policies/acceptable-use.md'] = `---
title: Acceptable use
classification: internal
owner: IT
---

Company laptops and accounts are for work. Lock your screen when you step away, keep software up to date,
and report a lost device or a suspicious message to IT the same day.
`;
    files['policies/leave.md'] = `---
title: Leave
classification: internal
owner: People team
---

Ask for leave at least two weeks ahead when you can. Tell your manager and the team on the first morning of
sick leave; from the fourth day a doctor's note is needed.
`;
  }
  return Object.entries(files).map(([path, text]) => ({ path, content: Buffer.from(text, 'utf8') }));
}
