//! The demo application's logic: a tiny Procapita-like client register, as a pure state
//! machine.
//!
//! [`App::handle`] takes one [`Event`] (already translated from RDP input by
//! [`crate::keyboard`] and the RDP glue) and returns the [`Damage`] — which parts of the screen
//! must be redrawn. What the app wants done outside itself (printing) it queues as an
//! [`Effect`] for the RDP glue ([`App::take_effects`]), which reports back
//! ([`App::print_finished`]). No I/O and no pixels here; [`crate::render`] draws the state.

use crate::layout::{BUTTON_COUNT, FIELD_COUNT, Layout};

/// Labels of the form fields, in focus order.
pub const FIELD_LABELS: [&str; FIELD_COUNT] = ["Personnummer", "Namn", "Ärende", "Insats"];
/// Button captions, left to right.
pub const BUTTON_LABELS: [&str; BUTTON_COUNT] = ["Spara", "Ny", "Skriv ut"];
/// Longest text a field accepts, in characters.
pub const FIELD_MAX_CHARS: usize = 40;
/// Most clients the register holds (more than fit on screen are not shown).
pub const MAX_CLIENTS: usize = 200;

/// Status texts of "Skriv ut": while the job goes out, when the client has it (followed by
/// the printer's name), and when it could not be printed.
pub const STATUS_PRINTING: &str = "Skriver ut …";
pub const STATUS_PRINTED: &str = "Utskrift skickad till";
pub const STATUS_NO_PRINTER: &str = "Ingen skrivare ansluten";
pub const STATUS_PRINT_FAILED: &str = "Utskriften misslyckades";
pub const STATUS_PRINT_BUSY: &str = "En utskrift pågår redan";
pub const STATUS_NOTHING_TO_PRINT: &str = "Välj en klient i listan att skriva ut";
/// Status texts of the clipboard (Ctrl+C, Ctrl+V).
pub const STATUS_COPIED: &str = "Kopierat till urklipp";
pub const STATUS_PASTED: &str = "Inklistrat från urklipp";
pub const STATUS_CLIPBOARD_EMPTY: &str = "Urklippet är tomt";
pub const STATUS_NO_CLIPBOARD: &str = "Urklipp är inte tillgängligt i den här sessionen";

/// One client record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Personnummer, Namn, Ärende, Insats — in [`FIELD_LABELS`] order.
    pub fields: [String; FIELD_COUNT],
}

impl Client {
    fn new(pnr: &str, name: &str, arende: &str, insats: &str) -> Self {
        Self {
            fields: [pnr.into(), name.into(), arende.into(), insats.into()],
        }
    }

    pub fn name(&self) -> &str {
        &self.fields[1]
    }

    pub fn personnummer(&self) -> &str {
        &self.fields[0]
    }
}

/// The fictitious clients every session starts with (test personal identity numbers).
pub fn demo_clients() -> Vec<Client> {
    vec![
        Client::new("19400312-2385", "Åsa Öberg", "Ansökan om hemtjänst", "Hemtjänst"),
        Client::new("19380905-2399", "Örjan Ärlig", "Omprövning av insats", "Trygghetslarm"),
        Client::new(
            "19451130-2402",
            "Märta Ståhl",
            "Ansökan om korttidsvistelse",
            "Korttidsboende",
        ),
        Client::new(
            "19520218-2414",
            "Göran Ängström",
            "Ansökan om matdistribution",
            "Matdistribution",
        ),
        Client::new(
            "19361023-2420",
            "Birgitta Åkesson",
            "Ansökan om särskilt boende",
            "Särskilt boende",
        ),
        Client::new("19490607-2436", "Lars-Åke Nyström", "Anhörigstöd", "Avlösning i hemmet"),
        Client::new(
            "19420814-2448",
            "Ingrid Söderlund",
            "Ansökan om dagverksamhet",
            "Dagverksamhet",
        ),
        Client::new("19331201-2450", "Sven Älvdal", "Uppföljning", "Hemtjänst"),
    ]
}

/// Keys the application reacts to besides text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Backspace,
    Tab,
    ShiftTab,
    Enter,
    Up,
    Down,
    Escape,
    /// Ctrl+C: copy the focused field to the clipboard (handled by the RDP glue).
    Copy,
    /// Ctrl+V: paste the clipboard into the focused field (handled by the RDP glue).
    Paste,
}

/// One input event, in desktop coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The pointer moved to (x, y).
    PointerMoved { x: u16, y: u16 },
    /// The primary button went down at the last pointer position.
    PrimaryDown,
    /// A printable character was typed.
    Text(char),
    /// A control key was pressed.
    Key(Key),
}

/// Work the app hands to the RDP glue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Print this client record on the client's first redirected printer.
    Print(Client),
}

/// How a print job ended, as the RDP glue reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintOutcome {
    /// Written and closed on the printer of this name.
    Sent {
        printer: String,
    },
    NoPrinter,
    /// The client failed the job.
    Failed,
    /// Another job is still under way.
    Busy,
}

/// Which parts of the screen changed. Each flag maps to a rectangle in [`Layout`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Damage {
    pub list: bool,
    pub fields: [bool; FIELD_COUNT],
    pub status: bool,
}

impl Damage {
    pub fn is_empty(&self) -> bool {
        !self.list && !self.status && !self.fields.iter().any(|f| *f)
    }

    fn all_fields(&mut self) {
        self.fields = [true; FIELD_COUNT];
    }

    /// Merges another damage set into this one.
    #[cfg(test)]
    pub fn merge(&mut self, other: Damage) {
        self.list |= other.list;
        self.status |= other.status;
        for (a, b) in self.fields.iter_mut().zip(other.fields) {
            *a |= b;
        }
    }
}

/// Longest printer name the status bar shows, in characters.
const MAX_SHOWN_NAME_CHARS: usize = 60;

/// A name from the client as the status bar shows it: control characters dropped, long
/// names cut with an ellipsis.
fn shown_name(name: &str) -> String {
    let clean: Vec<char> = name.chars().filter(|c| !c.is_control()).collect();
    if clean.len() <= MAX_SHOWN_NAME_CHARS {
        return clean.into_iter().collect();
    }
    let mut cut: String = clean[..MAX_SHOWN_NAME_CHARS - 1].iter().collect();
    cut.push('…');
    cut
}

/// The state of one session of the application.
#[derive(Debug, Clone)]
pub struct App {
    layout: Layout,
    clients: Vec<Client>,
    /// Index into `clients` of the selected row; `None` while a new client is being entered.
    selected: Option<usize>,
    /// The contents of the form fields.
    form: [String; FIELD_COUNT],
    focus: Option<usize>,
    status: String,
    pointer: (u32, u32),
    effects: Vec<Effect>,
}

impl App {
    /// A fresh session for a desktop of the given size: the demo clients, the first one selected.
    pub fn new(width: u16, height: u16) -> Self {
        let clients = demo_clients();
        let form = clients.first().map(|c| c.fields.clone()).unwrap_or_default();
        Self {
            layout: Layout::new(width, height),
            selected: if clients.is_empty() { None } else { Some(0) },
            clients,
            form,
            focus: None,
            status: "Välkommen till Procapita – välj en klient i listan".to_owned(),
            pointer: (0, 0),
            effects: Vec::new(),
        }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    pub fn focus(&self) -> Option<usize> {
        self.focus
    }

    pub fn field(&self, index: usize) -> &str {
        self.form.get(index).map(String::as_str).unwrap_or("")
    }

    pub fn status(&self) -> &str {
        &self.status
    }

    /// The text of the focused field, what Ctrl+C copies; `None` without a focus.
    pub fn focused_text(&self) -> Option<&str> {
        self.focus.map(|f| self.field(f))
    }

    /// Inserts clipboard text at the end of the focused field: control characters (line
    /// breaks, tabs) are dropped and the field's length limit holds.
    pub fn paste(&mut self, text: &str) -> Damage {
        let mut damage = Damage::default();
        for c in text.chars() {
            self.type_char(c, &mut damage);
        }
        if self.focus.is_some() {
            self.set_status(STATUS_PASTED, &mut damage);
        }
        damage
    }

    /// The effects queued since the last call, oldest first.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The RDP glue's report on a print job.
    pub fn print_finished(&mut self, outcome: PrintOutcome) -> Damage {
        let text = match outcome {
            PrintOutcome::Sent { printer } => format!("{STATUS_PRINTED} {}", shown_name(&printer)),
            PrintOutcome::NoPrinter => STATUS_NO_PRINTER.to_owned(),
            PrintOutcome::Failed => STATUS_PRINT_FAILED.to_owned(),
            PrintOutcome::Busy => STATUS_PRINT_BUSY.to_owned(),
        };
        self.show_status(&text)
    }

    /// Shows `text` in the status bar.
    pub fn show_status(&mut self, text: &str) -> Damage {
        let mut damage = Damage::default();
        self.set_status(text, &mut damage);
        damage
    }

    fn set_status(&mut self, text: &str, damage: &mut Damage) {
        if self.status != text {
            text.clone_into(&mut self.status);
            damage.status = true;
        }
    }

    /// Applies one event and reports what must be redrawn.
    pub fn handle(&mut self, event: Event) -> Damage {
        let mut damage = Damage::default();
        match event {
            Event::PointerMoved { x, y } => self.pointer = (u32::from(x), u32::from(y)),
            Event::PrimaryDown => self.click(&mut damage),
            Event::Text(c) => self.type_char(c, &mut damage),
            Event::Key(key) => self.key(key, &mut damage),
        }
        damage
    }

    fn click(&mut self, damage: &mut Damage) {
        let (x, y) = self.pointer;
        if let Some(row) = self.layout.list_row_at(x, y) {
            if row < self.clients.len() {
                self.select(row, damage);
                self.set_focus(None, damage);
            }
        } else if let Some(field) = self.layout.field_at(x, y) {
            self.set_focus(Some(field), damage);
        } else if let Some(button) = self.layout.button_at(x, y) {
            self.press(button, damage);
        }
    }

    fn type_char(&mut self, c: char, damage: &mut Damage) {
        if c.is_control() {
            return;
        }
        let Some(focus) = self.focus else { return };
        let Some(text) = self.form.get_mut(focus) else {
            return;
        };
        if text.chars().count() < FIELD_MAX_CHARS {
            text.push(c);
            damage.fields[focus] = true;
        }
    }

    fn key(&mut self, key: Key, damage: &mut Damage) {
        match key {
            Key::Backspace => {
                if let Some(focus) = self.focus
                    && let Some(text) = self.form.get_mut(focus)
                    && text.pop().is_some()
                {
                    damage.fields[focus] = true;
                }
            }
            Key::Tab => {
                let next = self.focus.map_or(0, |f| (f + 1) % FIELD_COUNT);
                self.set_focus(Some(next), damage);
            }
            Key::ShiftTab => {
                let prev = self
                    .focus
                    .map_or(FIELD_COUNT - 1, |f| (f + FIELD_COUNT - 1) % FIELD_COUNT);
                self.set_focus(Some(prev), damage);
            }
            Key::Enter => self.save(damage),
            Key::Escape => self.set_focus(None, damage),
            // The clipboard lives in the RDP glue, which intercepts these first.
            Key::Copy | Key::Paste => {}
            Key::Up | Key::Down => {
                if self.focus.is_none() && !self.clients.is_empty() {
                    let last = self.clients.len().min(self.layout.visible_rows()).saturating_sub(1);
                    let next = match (self.selected, key) {
                        (None, _) => 0,
                        (Some(s), Key::Up) => s.saturating_sub(1),
                        (Some(s), _) => (s + 1).min(last),
                    };
                    self.select(next, damage);
                }
            }
        }
    }

    fn press(&mut self, button: usize, damage: &mut Damage) {
        match button {
            0 => self.save(damage),
            1 => self.new_client(damage),
            _ => self.print(damage),
        }
    }

    fn select(&mut self, row: usize, damage: &mut Damage) {
        let Some(client) = self.clients.get(row) else {
            return;
        };
        self.form = client.fields.clone();
        self.selected = Some(row);
        self.status = format!("Vald klient: {}", client.name());
        damage.list = true;
        damage.all_fields();
        damage.status = true;
    }

    fn set_focus(&mut self, focus: Option<usize>, damage: &mut Damage) {
        if self.focus != focus {
            if let Some(old) = self.focus {
                damage.fields[old] = true;
            }
            if let Some(new) = focus {
                damage.fields[new] = true;
            }
            self.focus = focus;
        }
    }

    fn save(&mut self, damage: &mut Damage) {
        damage.status = true;
        if self.form[0].trim().is_empty() || self.form[1].trim().is_empty() {
            self.status = "Personnummer och namn måste fyllas i".to_owned();
            return;
        }
        let record = Client {
            fields: self.form.clone(),
        };
        match self.selected {
            Some(i) if i < self.clients.len() => self.clients[i] = record,
            _ => {
                if self.clients.len() >= MAX_CLIENTS {
                    self.status = "Registret är fullt".to_owned();
                    return;
                }
                self.clients.push(record);
                self.selected = Some(self.clients.len() - 1);
            }
        }
        self.status = format!("Sparat: {}", self.form[1].trim());
        damage.list = true;
    }

    fn new_client(&mut self, damage: &mut Damage) {
        self.form = Default::default();
        self.selected = None;
        self.status = "Ny klient – fyll i uppgifterna och tryck Spara".to_owned();
        damage.list = true;
        damage.all_fields();
        damage.status = true;
        self.set_focus(Some(0), damage);
    }

    /// Prints the selected client as saved (not unsaved edits in the form).
    fn print(&mut self, damage: &mut Damage) {
        let Some(client) = self.selected.and_then(|i| self.clients.get(i)) else {
            self.set_status(STATUS_NOTHING_TO_PRINT, damage);
            return;
        };
        self.effects.push(Effect::Print(client.clone()));
        self.set_status(STATUS_PRINTING, damage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(app: &mut App, x: u32, y: u32) -> Damage {
        let x = u16::try_from(x).unwrap();
        let y = u16::try_from(y).unwrap();
        let mut d = app.handle(Event::PointerMoved { x, y });
        d.merge(app.handle(Event::PrimaryDown));
        d
    }

    fn click_field(app: &mut App, i: usize) -> Damage {
        let r = app.layout().fields[i];
        click(app, r.x + 5, r.y + 5)
    }

    fn type_str(app: &mut App, s: &str) {
        for c in s.chars() {
            app.handle(Event::Text(c));
        }
    }

    #[test]
    fn starts_with_first_client_selected() {
        let app = App::new(1280, 800);
        assert_eq!(app.selected(), Some(0));
        assert_eq!(app.field(1), "Åsa Öberg");
        assert_eq!(app.field(3), "Hemtjänst");
        assert_eq!(app.focus(), None);
    }

    #[test]
    fn click_selects_row_and_loads_form() {
        let mut app = App::new(1280, 800);
        let row = app.layout().list_row(2);
        let d = click(&mut app, row.x + 20, row.y + 10);
        assert_eq!(app.selected(), Some(2));
        assert_eq!(app.field(1), "Märta Ståhl");
        assert!(d.list && d.status && d.fields.iter().all(|f| *f));
        assert_eq!(app.status(), "Vald klient: Märta Ståhl");
    }

    #[test]
    fn click_below_last_client_does_nothing() {
        let mut app = App::new(1280, 800);
        let row = app.layout().list_row(app.clients().len());
        let d = click(&mut app, row.x + 20, row.y + 10);
        assert!(d.is_empty());
        assert_eq!(app.selected(), Some(0));
    }

    #[test]
    fn typing_edits_only_the_focused_field() {
        let mut app = App::new(1280, 800);
        type_str(&mut app, "x");
        assert_eq!(app.field(2), "Ansökan om hemtjänst", "no focus, no edit");

        let d = click_field(&mut app, 2);
        assert_eq!(app.focus(), Some(2));
        assert_eq!(d.fields, [false, false, true, false]);

        let d = app.handle(Event::Text('!'));
        assert_eq!(d.fields, [false, false, true, false]);
        assert!(!d.list);
        assert_eq!(app.field(2), "Ansökan om hemtjänst!");
        app.handle(Event::Key(Key::Backspace));
        app.handle(Event::Key(Key::Backspace));
        assert_eq!(app.field(2), "Ansökan om hemtjäns");
        assert_eq!(app.field(1), "Åsa Öberg");
    }

    #[test]
    fn paste_appends_to_the_focused_field_within_its_limit() {
        let mut app = App::new(1280, 800);
        assert!(app.paste("x").is_empty(), "no focus, no paste");
        assert_eq!(app.focused_text(), None);
        click_field(&mut app, 1);
        assert_eq!(app.focused_text(), Some("Åsa Öberg"));
        let d = app.paste(" och\r\nÖrjan\t!");
        assert_eq!(d.fields, [false, true, false, false]);
        assert!(d.status);
        assert_eq!(app.field(1), "Åsa Öberg ochÖrjan!", "control characters dropped");
        assert_eq!(app.status(), STATUS_PASTED);
        app.paste(&"å".repeat(100));
        assert_eq!(app.field(1).chars().count(), FIELD_MAX_CHARS);
        assert!(app.show_status(STATUS_COPIED).status);
        assert!(!app.show_status(STATUS_COPIED).status, "unchanged status draws nothing");
    }

    #[test]
    fn swedish_characters() {
        let mut app = App::new(1280, 800);
        click_field(&mut app, 1);
        for _ in 0..20 {
            app.handle(Event::Key(Key::Backspace));
        }
        assert_eq!(app.field(1), "");
        type_str(&mut app, "Åke Ärlig-Öst å ä ö");
        assert_eq!(app.field(1), "Åke Ärlig-Öst å ä ö");
        app.handle(Event::Key(Key::Backspace));
        assert_eq!(app.field(1), "Åke Ärlig-Öst å ä ");
    }

    #[test]
    fn control_characters_are_ignored() {
        let mut app = App::new(1280, 800);
        click_field(&mut app, 0);
        let before = app.field(0).to_owned();
        assert!(app.handle(Event::Text('\u{8}')).is_empty());
        assert!(app.handle(Event::Text('\u{1b}')).is_empty());
        assert_eq!(app.field(0), before);
    }

    #[test]
    fn field_length_is_capped() {
        let mut app = App::new(1280, 800);
        click_field(&mut app, 3);
        type_str(&mut app, &"å".repeat(100));
        assert_eq!(app.field(3).chars().count(), FIELD_MAX_CHARS);
    }

    #[test]
    fn tab_moves_focus_and_wraps() {
        let mut app = App::new(1280, 800);
        let d = app.handle(Event::Key(Key::Tab));
        assert_eq!(app.focus(), Some(0));
        assert_eq!(d.fields, [true, false, false, false]);
        let d = app.handle(Event::Key(Key::Tab));
        assert_eq!(app.focus(), Some(1));
        assert_eq!(d.fields, [true, true, false, false]);
        app.handle(Event::Key(Key::Tab));
        app.handle(Event::Key(Key::Tab));
        assert_eq!(app.focus(), Some(3));
        app.handle(Event::Key(Key::Tab));
        assert_eq!(app.focus(), Some(0));
        app.handle(Event::Key(Key::ShiftTab));
        assert_eq!(app.focus(), Some(3));
    }

    #[test]
    fn save_updates_the_selected_client() {
        let mut app = App::new(1280, 800);
        click_field(&mut app, 3);
        type_str(&mut app, " och larm");
        let spara = app.layout().buttons[0];
        click(&mut app, spara.x + 5, spara.y + 5);
        assert_eq!(app.clients()[0].fields[3], "Hemtjänst och larm");
        assert_eq!(app.status(), "Sparat: Åsa Öberg");
    }

    #[test]
    fn new_then_save_adds_a_client() {
        let mut app = App::new(1280, 800);
        let ny = app.layout().buttons[1];
        click(&mut app, ny.x + 5, ny.y + 5);
        assert_eq!(app.selected(), None);
        assert_eq!(app.focus(), Some(0));
        assert!((0..FIELD_COUNT).all(|i| app.field(i).is_empty()));

        app.handle(Event::Key(Key::Enter));
        assert_eq!(app.status(), "Personnummer och namn måste fyllas i");

        type_str(&mut app, "19121212-1212");
        app.handle(Event::Key(Key::Tab));
        type_str(&mut app, "Tolvan Tolvansson");
        let n = app.clients().len();
        app.handle(Event::Key(Key::Enter));
        assert_eq!(app.clients().len(), n + 1);
        assert_eq!(app.selected(), Some(n));
        assert_eq!(app.clients()[n].name(), "Tolvan Tolvansson");
    }

    #[test]
    fn print_asks_the_glue_to_print_the_selected_client() {
        let mut app = App::new(1280, 800);
        assert!(app.take_effects().is_empty());
        let row = app.layout().list_row(2);
        click(&mut app, row.x + 20, row.y + 10);
        let b = app.layout().buttons[2];
        let d = click(&mut app, b.x + 5, b.y + 5);
        assert_eq!(app.status(), STATUS_PRINTING);
        assert!(d.status && !d.list);
        assert_eq!(app.take_effects(), vec![Effect::Print(demo_clients()[2].clone())]);
        assert!(app.take_effects().is_empty(), "taken once");

        let d = app.print_finished(PrintOutcome::Sent {
            printer: "Hamn PDF".into(),
        });
        assert!(d.status);
        assert_eq!(app.status(), "Utskrift skickad till Hamn PDF");
        app.print_finished(PrintOutcome::NoPrinter);
        assert_eq!(app.status(), STATUS_NO_PRINTER);
        app.print_finished(PrintOutcome::Failed);
        assert_eq!(app.status(), STATUS_PRINT_FAILED);
        app.print_finished(PrintOutcome::Busy);
        assert_eq!(app.status(), STATUS_PRINT_BUSY);
    }

    #[test]
    fn printer_names_from_the_client_are_tamed_for_the_status_bar() {
        let mut app = App::new(1280, 800);
        app.print_finished(PrintOutcome::Sent {
            printer: "Skrivare\r\n\u{1b}[31mplan 3".into(),
        });
        assert_eq!(app.status(), "Utskrift skickad till Skrivare[31mplan 3");
        app.print_finished(PrintOutcome::Sent {
            printer: "å".repeat(500),
        });
        let shown = app.status().strip_prefix("Utskrift skickad till ").unwrap();
        assert_eq!(shown.chars().count(), MAX_SHOWN_NAME_CHARS);
        assert!(shown.ends_with("å…"));
    }

    #[test]
    fn print_without_a_selected_client_says_so() {
        let mut app = App::new(1280, 800);
        let ny = app.layout().buttons[1];
        click(&mut app, ny.x + 5, ny.y + 5);
        let b = app.layout().buttons[2];
        click(&mut app, b.x + 5, b.y + 5);
        assert_eq!(app.status(), STATUS_NOTHING_TO_PRINT);
        assert!(app.take_effects().is_empty());
    }

    #[test]
    fn arrow_keys_move_selection_without_focus() {
        let mut app = App::new(1280, 800);
        app.handle(Event::Key(Key::Down));
        assert_eq!(app.selected(), Some(1));
        app.handle(Event::Key(Key::Up));
        app.handle(Event::Key(Key::Up));
        assert_eq!(app.selected(), Some(0));
        app.handle(Event::Key(Key::Tab));
        app.handle(Event::Key(Key::Down));
        assert_eq!(app.selected(), Some(0), "arrows are ignored while editing");
    }
}
