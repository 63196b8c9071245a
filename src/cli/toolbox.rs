//! What fits l2sim into a researcher's shell and editor: completion scripts and the man page,
//! generated from the clap definitions so that they cannot drift from the real flags, and the
//! scenario JSON Schema.

use anyhow::Result;
use clap::CommandFactory;

use super::Cli;

/// `l2sim completions SHELL`: the completion script on stdout.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "l2sim", &mut std::io::stdout());
    Ok(())
}

/// `l2sim man`: the man page (section 1, roff) on stdout, with a section per subcommand.
pub(super) fn man() -> Result<()> {
    let cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(&mut out)?;
    page.render_name_section(&mut out)?;
    page.render_synopsis_section(&mut out)?;
    page.render_description_section(&mut out)?;
    page.render_options_section(&mut out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let mut text = Vec::new();
        let sub_page = clap_mangen::Man::new(
            sub.clone()
                .display_name(format!("l2sim-{name}"))
                .bin_name(format!("l2sim {name}")),
        );
        sub_page.render_synopsis_section(&mut text)?;
        sub_page.render_description_section(&mut text)?;
        sub_page.render_options_section(&mut text)?;
        // Each subcommand's sections become subsections of COMMANDS.
        let text = String::from_utf8_lossy(&text).replace(".SH ", ".SS ");
        std::io::Write::write_all(&mut out, format!(".SH \"COMMAND: {name}\"\n").as_bytes())?;
        std::io::Write::write_all(&mut out, text.as_bytes())?;
    }
    page.render_version_section(&mut out)?;
    std::io::Write::write_all(
        &mut out,
        b".SH \"EXIT STATUS\"\n0 success; 2 invalid input (scenario, flags, paths: nothing is written); 130 interrupted; 1 anything else.\n.SH ENVIRONMENT\n.TP\n\\fBNO_COLOR\\fR\nwhen set and not empty, help and errors are never coloured.\n.SH \"SEE ALSO\"\nREADME.md, docs/MODEL.md, docs/SCALING.md in the l2sim repository.\n",
    )?;
    Ok(())
}

/// `l2sim schema [--markdown]`: the scenario JSON Schema, or the field reference, on stdout.
pub(super) fn schema(markdown: bool) -> Result<()> {
    print!("{}", crate::app::schema_text(markdown)?);
    Ok(())
}
