// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const target = document.querySelector(button.dataset.copy);
  const text = target ? (target.value ?? target.textContent).trim() : "";
  const done = () => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else if (target && target.select) {
    target.select();
    document.execCommand("copy");
    done();
  }
});

// Keep the page the user is on when switching teams: /t/<old>/<page>/ -> /t/<new>/<page>/.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-switch-team]");
  if (!link) return;
  const match = window.location.pathname.match(/^\/t\/[0-9a-f-]{36}\/([a-z-]+)\//);
  if (match) {
    event.preventDefault();
    window.location.href = `/t/${link.dataset.switchTeam}/${match[1]}/`;
  }
});

// Close the team switcher when clicking elsewhere.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.team-switcher[open]").forEach((el) => {
    if (!el.contains(event.target)) el.removeAttribute("open");
  });
});

// The phone menu: the toggle opens it; the backdrop, Escape or following a link closes it.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-toggle-nav]")) {
    document.body.classList.toggle("nav-open");
  } else if (event.target.closest("[data-close-nav]")) {
    document.body.classList.remove("nav-open");
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  document.body.classList.remove("nav-open");
  document.querySelectorAll("details.team-switcher[open]").forEach((el) => el.removeAttribute("open"));
});
