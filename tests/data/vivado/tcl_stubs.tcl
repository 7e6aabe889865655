# Recording stubs for the Vivado, Vitis/Vivado HLS and XSCT commands the generated scripts use.
# Loaded by tclsh before a generated script (tests/test_vivado_tcl.py). Each stub appends one line
# to $env(PYC_STUB_LOG): the command and its arguments, tab-separated, with \ tab newline escaped.
# Stubs check what the real tools would refuse (files that must exist, cells, pins and ports used
# before they are created) and create the files the real tools would write, so a script runs to
# its end. Any command not defined here is an error: the scripts may only use this vocabulary.

set ::pyc_log [open $::env(PYC_STUB_LOG) a]
array set ::pyc_cells {}
array set ::pyc_ports {}
set ::pyc_bd {}
set ::pyc_project_dir {}
set ::pyc_hls [dict create project {} solution {} top {}]

proc pyc_record {args} {
    set words {}
    foreach a $args { lappend words [string map [list \\ \\\\ \t \\t \n \\n] $a] }
    puts $::pyc_log [join $words \t]
    flush $::pyc_log
}
proc pyc_fail {msg} { pyc_record STUB-ERROR $msg; error "stub: $msg" }
proc pyc_touch {path {text "stub output\n"}} {
    file mkdir [file dirname $path]
    set f [open $path w]; puts -nonewline $f $text; close $f
}
# With PYC_STUB_SAMPLES set, reports are the sample reports of that folder, renamed to this design.
proc pyc_report {path sample} {
    if {![info exists ::env(PYC_STUB_SAMPLES)]} { pyc_touch $path; return }
    set f [open [file join $::env(PYC_STUB_SAMPLES) $sample]]; set text [read $f]; close $f
    set kernel [lindex [lsort [array names ::pyc_cells *_top_0]] 0]
    if {$kernel ne ""} { set text [string map [list pycompress_top_0 $kernel] $text] }
    pyc_touch $path $text
}
proc pyc_option {argv name {default {}}} {
    set i [lsearch -exact $argv $name]
    if {$i < 0} { return $default }
    return [lindex $argv [expr {$i + 1}]]
}
proc pyc_positional {argv {with_value {}}} {
    # arguments that are not options (and not the value of an option listed in with_value)
    set out {}
    for {set i 0} {$i < [llength $argv]} {incr i} {
        set a [lindex $argv $i]
        if {[string index $a 0] eq "-"} {
            if {$a in $with_value} { incr i }
            continue
        }
        lappend out $a
    }
    return $out
}
proc pyc_check_pin {path} {
    set path [string trimleft $path /]
    set cell [lindex [split $path /] 0]
    if {![info exists ::pyc_cells($cell)]} { pyc_fail "pin $path of a cell never created" }
    return /$path
}
rename unknown pyc_tcl_unknown
proc unknown {args} {
    # Tcl's own library (clock, msgcat, packages) still loads; anything else is not a tool command.
    set name [lindex $args 0]
    if {[string match ::tcl::* $name] || [auto_load $name]} {
        return [uplevel 1 [list pyc_tcl_unknown {*}$args]]
    }
    pyc_fail "command not stubbed (not a known tool command): $name"
}
rename exit pyc_real_exit
proc exit {args} { pyc_record exit {*}$args; close $::pyc_log; pyc_real_exit {*}$args }

# ---- Vivado: project ------------------------------------------------------------------------------
proc create_project {args} {
    pyc_record create_project {*}$args
    set ::pyc_project_dir [lindex [pyc_positional $args {-part}] 1]
    file mkdir $::pyc_project_dir
    return [lindex [pyc_positional $args {-part}] 0]
}
proc current_project {args} { pyc_record current_project {*}$args; return project_1 }
proc current_fileset {args} { pyc_record current_fileset {*}$args; return sources_1 }
proc get_board_parts {args} {
    pyc_record get_board_parts {*}$args
    set want [lindex [pyc_positional $args] 0]
    if {[info exists ::env(PYC_STUB_BOARD_PARTS)] && $want in $::env(PYC_STUB_BOARD_PARTS)} { return $want }
    return {}
}
proc set_property {args} { pyc_record set_property {*}$args; return {} }
proc get_property {args} {
    pyc_record get_property {*}$args
    set name [lindex $args 0]
    switch -- $name {
        PROGRESS { return 100% }
        DIRECTORY { return [file join $::pyc_project_dir runs [string trimleft [lindex $args 1] /]] }
        default { return {} }
    }
}
proc update_ip_catalog {args} { pyc_record update_ip_catalog {*}$args }
proc add_files {args} {
    pyc_record add_files {*}$args
    foreach a [pyc_positional $args {-fileset}] {
        # one file, or a Tcl list of files (Vivado takes either)
        if {[file exists $a]} { continue }
        if {[catch {llength $a}] || [llength $a] < 2} { pyc_fail "add_files: no such file $a" }
        foreach f $a { if {![file exists $f]} { pyc_fail "add_files: no such file $f" } }
    }
}
proc get_files {args} { pyc_record get_files {*}$args; return [lindex $args end] }
proc update_compile_order {args} { pyc_record update_compile_order {*}$args }
proc get_runs {args} { pyc_record get_runs {*}$args; return [lindex $args end] }
proc launch_runs {args} {
    pyc_record launch_runs {*}$args
    set run [lindex [pyc_positional $args {-jobs -to_step}] 0]
    if {$run eq "impl_1" && [pyc_option $args -to_step] eq "write_bitstream"} {
        pyc_touch [file join $::pyc_project_dir runs impl_1 ${::pyc_bd}_wrapper.bit]
    }
}
proc wait_on_run {args} { pyc_record wait_on_run {*}$args }
proc open_run {args} { pyc_record open_run {*}$args }
proc report_utilization {args} {
    pyc_record report_utilization {*}$args
    set sample [expr {"-hierarchical" in $args ? "utilization_hier_2022.2.rpt" : "utilization_2020.2.rpt"}]
    pyc_report [pyc_option $args -file] $sample
}
proc report_timing_summary {args} { pyc_record report_timing_summary {*}$args; pyc_report [pyc_option $args -file] timing_summary_2020.2.rpt }
proc report_power {args} { pyc_record report_power {*}$args; pyc_report [pyc_option $args -file] power_2021.2.rpt }
proc write_hw_platform {args} { pyc_record write_hw_platform {*}$args; pyc_touch [pyc_option $args -file] }
proc close_project {args} { pyc_record close_project {*}$args }

# ---- Vivado: IP packaging (the RTL engine, scripts/package_ip.tcl) ----------------------------------
namespace eval ipx {}
set ::pyc_ip_root {}
proc ipx::package_project {args} {
    pyc_record ipx::package_project {*}$args
    set ::pyc_ip_root [pyc_option $args -root_dir]
    if {$::pyc_ip_root eq ""} { pyc_fail "ipx::package_project without -root_dir" }
    return core_1
}
proc ipx::current_core {args} { pyc_record ipx::current_core {*}$args; return core_1 }
proc ipx::associate_bus_interfaces {args} {
    pyc_record ipx::associate_bus_interfaces {*}$args
    if {[pyc_option $args -busif] eq "" || [pyc_option $args -clock] eq ""} { pyc_fail "bus interface without -busif/-clock" }
}
proc ipx::create_xgui_files {args} { pyc_record ipx::create_xgui_files {*}$args }
proc ipx::update_checksums {args} { pyc_record ipx::update_checksums {*}$args }
proc ipx::check_integrity {args} { pyc_record ipx::check_integrity {*}$args }
proc ipx::save_core {args} {
    pyc_record ipx::save_core {*}$args
    if {$::pyc_ip_root eq ""} { pyc_fail "ipx::save_core before ipx::package_project" }
    pyc_touch [file join $::pyc_ip_root component.xml] "<component/>\n"
}

# ---- Vivado: block design -------------------------------------------------------------------------
proc create_bd_design {args} { pyc_record create_bd_design {*}$args; set ::pyc_bd [lindex $args end] }
proc create_bd_cell {args} {
    pyc_record create_bd_cell {*}$args
    set name [lindex $args end]
    set ::pyc_cells($name) [pyc_option $args -vlnv]
    return /$name
}
proc get_bd_cells {args} { pyc_record get_bd_cells {*}$args; return [pyc_check_pin [lindex $args end]] }
proc get_bd_pins {args} {
    pyc_record get_bd_pins {*}$args
    set out {}
    foreach p $args { lappend out [pyc_check_pin $p] }
    return $out
}
proc get_bd_intf_pins {args} {
    pyc_record get_bd_intf_pins {*}$args
    set out {}
    foreach p $args { lappend out [pyc_check_pin $p] }
    return $out
}
proc create_bd_port {args} {
    pyc_record create_bd_port {*}$args
    set ::pyc_ports([lindex $args end]) 1
    return /[lindex $args end]
}
proc get_bd_ports {args} {
    pyc_record get_bd_ports {*}$args
    foreach p $args { if {![info exists ::pyc_ports($p)]} { pyc_fail "port $p never created" } }
    return /[lindex $args end]
}
proc connect_bd_net {args} { pyc_record connect_bd_net {*}$args }
proc connect_bd_intf_net {args} { pyc_record connect_bd_intf_net {*}$args }
proc apply_bd_automation {args} { pyc_record apply_bd_automation {*}$args }
proc assign_bd_address {args} { pyc_record assign_bd_address {*}$args }
proc get_bd_addr_spaces {args} { pyc_record get_bd_addr_spaces {*}$args; return [pyc_check_pin [lindex $args end]] }
proc get_bd_addr_segs {args} { pyc_record get_bd_addr_segs {*}$args; return seg }
proc validate_bd_design {args} { pyc_record validate_bd_design {*}$args }
proc save_bd_design {args} { pyc_record save_bd_design {*}$args }
proc make_wrapper {args} {
    pyc_record make_wrapper {*}$args
    set path [file join $::pyc_project_dir srcs sources_1 bd $::pyc_bd hdl ${::pyc_bd}_wrapper.v]
    pyc_touch $path
    return $path
}

# ---- Vitis HLS / Vivado HLS -----------------------------------------------------------------------
proc open_project {args} { pyc_record open_project {*}$args; dict set ::pyc_hls project [lindex [pyc_positional $args] 0] }
proc set_top {args} { pyc_record set_top {*}$args; dict set ::pyc_hls top [lindex $args end] }
proc open_solution {args} { pyc_record open_solution {*}$args; dict set ::pyc_hls solution [lindex [pyc_positional $args {-flow_target}] 0] }
proc set_part {args} { pyc_record set_part {*}$args }
proc create_clock {args} { pyc_record create_clock {*}$args }
proc config_export {args} { pyc_record config_export {*}$args }
proc config_compile {args} { pyc_record config_compile {*}$args }
proc config_interface {args} { pyc_record config_interface {*}$args }
proc config_csim {args} { pyc_record config_csim {*}$args }
proc config_rtl {args} { pyc_record config_rtl {*}$args }
proc config_schedule {args} { pyc_record config_schedule {*}$args }
proc set_clock_uncertainty {args} { pyc_record set_clock_uncertainty {*}$args }
proc csim_design {args} { pyc_record csim_design {*}$args }
proc cosim_design {args} { pyc_record cosim_design {*}$args }
proc pyc_hls_dir {} { return [file join [dict get $::pyc_hls project] [dict get $::pyc_hls solution]] }
proc csynth_design {args} {
    pyc_record csynth_design {*}$args
    set top [dict get $::pyc_hls top]
    set sample [expr {[string match *baseline* $top] ? "csynth_vivado_hls_2019.2.rpt" : "csynth_vitis_hls_2020.2.rpt"}]
    pyc_report [file join [pyc_hls_dir] syn report ${top}_csynth.rpt] $sample
    if {![string match *baseline* $top]} {
        pyc_report [file join [pyc_hls_dir] syn report csynth.xml] csynth_vitis_hls_2020.2.xml
    }
}
proc export_design {args} {
    pyc_record export_design {*}$args
    pyc_touch [file join [pyc_hls_dir] impl ip component.xml]
}
proc close_solution {args} { pyc_record close_solution {*}$args }
proc close_project_hls {args} { pyc_record close_project {*}$args }

# ---- XSCT -----------------------------------------------------------------------------------------
proc setws {args} { pyc_record setws {*}$args; set ::pyc_ws [lindex $args end] }
proc platform {args} {
    pyc_record platform {*}$args
    switch -- [lindex $args 0] {
        create {
            set hw [pyc_option $args -hw]
            if {![file exists $hw]} { pyc_fail "platform create: no hardware file $hw" }
            set ::pyc_platform [pyc_option $args -name]
        }
        generate { pyc_touch [file join $::pyc_ws $::pyc_platform hw ps7_init.tcl] "# stub ps7_init.tcl\n" }
    }
}
proc app {args} {
    pyc_record app {*}$args
    if {[lindex $args 0] eq "build"} {
        set name [pyc_option $args -name]
        pyc_touch [file join $::pyc_ws $name Release $name.elf]
    }
}
proc importsources {args} {
    pyc_record importsources {*}$args
    if {![file isdirectory [pyc_option $args -path]]} { pyc_fail "importsources: no folder [pyc_option $args -path]" }
}
proc fpga {args} {
    pyc_record fpga {*}$args
    if {![file exists [pyc_option $args -file]]} { pyc_fail "fpga: no bitstream [pyc_option $args -file]" }
}
proc dow {args} {
    pyc_record dow {*}$args
    if {![file exists [lindex $args end]]} { pyc_fail "dow: no file [lindex $args end]" }
}
foreach cmd {connect targets rst ps7_init ps7_post_config con} {
    proc $cmd {args} "pyc_record $cmd {*}\$args"
}
