"""The default integrity framework: two themes, six pillars and their indicators, from the
Ministry of Home Affairs address in `shared/source-article-id.txt` (PRODUCT.md).

Statements are first-person and observable, so that a rating of 1 (never) to 5 (always) means
the same to everyone; each has an English translation and a rubric for 1 and 5.
"""

from django.db import migrations

THEMES = [
    ("T1", "Integritas sebagai Fondasi Utama Pelayanan", "Integrity as the foundation of service"),
    ("T2", "Berorientasi pada Pelayanan Publik Prima", "Oriented to excellent public service"),
]

# (theme, code, name, name_en, description, description_en, indicators)
# indicator: (code, statement, statement_en, rubric 1, rubric 1 en, rubric 5, rubric 5 en, note required at 1 or 5)
PILLARS = [
    (
        "T1", "AK", "Anti-Korupsi", "Anti-corruption",
        "Bebas dari praktik korupsi, kolusi, dan nepotisme (KKN); mengelola anggaran secara transparan dan akuntabel.",
        "Free of corruption, collusion and nepotism (KKN); handling the budget transparently and accountably.",
        [
            ("AK-1",
             "Saya menolak setiap pemberian, hadiah, atau fasilitas yang berkaitan dengan jabatan saya dan melaporkannya sesuai ketentuan gratifikasi.",
             "I refuse every gift, present or favour connected to my position and report it under the gratification rules.",
             "Menerima pemberian terkait jabatan dan tidak melaporkannya.",
             "Accepts gifts connected to the position and does not report them.",
             "Selalu menolak, dan melaporkan setiap pemberian kepada Unit Pengendalian Gratifikasi dalam batas waktu.",
             "Always refuses, and reports every gift to the gratification control unit in time.",
             True),
            ("AK-2",
             "Saya menggunakan anggaran dan barang milik negara hanya untuk keperluan dinas, dengan bukti pertanggungjawaban yang lengkap.",
             "I use the budget and state property for official purposes only, with complete accountability records.",
             "Memakai anggaran atau fasilitas kantor untuk kepentingan pribadi, atau tanpa bukti.",
             "Uses the budget or office facilities for private purposes, or without records.",
             "Setiap penggunaan sesuai peruntukan, tercatat, dan buktinya lengkap.",
             "Every use is for its purpose, recorded, with complete records.",
             False),
            ("AK-3",
             "Saya tidak meminta atau menerima imbalan di luar tarif resmi dari masyarakat yang saya layani.",
             "I never ask for or accept payment beyond the official fee from the people I serve.",
             "Meminta atau menerima pungutan di luar ketentuan.",
             "Asks for or accepts unofficial fees.",
             "Tidak pernah; tarif resmi selalu saya sampaikan secara terbuka.",
             "Never; I always state the official fee openly.",
             True),
            ("AK-4",
             "Saya tidak memberi perlakuan istimewa kepada keluarga, kerabat, atau kenalan dalam tugas, pengadaan, atau rekrutmen.",
             "I give no special treatment to family, relatives or acquaintances in my duties, procurement or recruitment.",
             "Mendahulukan keluarga atau kenalan.",
             "Puts family or acquaintances first.",
             "Memperlakukan semua pihak sama dan selalu menyatakan konflik kepentingan.",
             "Treats everyone alike and always declares conflicts of interest.",
             False),
            ("AK-5",
             "Saya melaporkan dugaan pelanggaran integritas yang saya ketahui melalui saluran pengaduan resmi (whistleblowing system).",
             "I report suspected integrity breaches that I know of through the official whistleblowing channel.",
             "Mendiamkan pelanggaran yang saya ketahui.",
             "Keeps quiet about breaches I know of.",
             "Selalu melaporkan dan mendukung tindak lanjutnya.",
             "Always reports them and supports the follow-up.",
             False),
        ],
    ),
    (
        "T1", "NT", "Netralitas", "Neutrality",
        "Netral dan profesional dalam konteks politik; tidak memihak kepentingan kelompok atau golongan tertentu.",
        "Politically neutral and professional; serving no group's or faction's interest.",
        [
            ("NT-1",
             "Saya tidak ikut serta dalam kampanye atau mendukung calon dalam pemilu atau pilkada, termasuk di media sosial.",
             "I take no part in campaigns and support no candidate in national or regional elections, including on social media.",
             "Ikut kampanye, memasang atribut, atau membagikan konten kampanye.",
             "Joins campaigns, displays campaign material or shares campaign content.",
             "Tidak pernah terlibat, dan mengingatkan rekan tentang aturan netralitas.",
             "Never takes part, and reminds colleagues of the neutrality rules.",
             True),
            ("NT-2",
             "Saya melayani setiap warga dengan standar yang sama tanpa memandang pilihan politik, suku, agama, ras, atau golongan.",
             "I serve every citizen to the same standard whatever their political choice, ethnicity, religion, race or group.",
             "Membedakan layanan menurut latar belakang warga.",
             "Serves people differently according to their background.",
             "Semua warga mendapat layanan yang sama.",
             "Every citizen receives the same service.",
             False),
            ("NT-3",
             "Saya tidak menggunakan fasilitas, jabatan, atau program kantor untuk menguntungkan partai atau calon tertentu.",
             "I never use office facilities, my position or office programmes to benefit a party or a candidate.",
             "Memakai fasilitas atau program kantor untuk kepentingan politik.",
             "Uses office facilities or programmes for political ends.",
             "Tidak pernah, dan menolak bila diminta.",
             "Never, and refuses when asked.",
             False),
            ("NT-4",
             "Saya mengambil keputusan berdasarkan aturan dan data, bukan tekanan atau titipan pihak tertentu.",
             "I decide on the basis of rules and data, not pressure or favours asked by anyone.",
             "Keputusan mengikuti tekanan atau titipan.",
             "Decisions follow pressure or requested favours.",
             "Setiap keputusan dapat dijelaskan dengan aturan dan data.",
             "Every decision can be explained by rules and data.",
             False),
        ],
    ),
    (
        "T1", "DK", "Disiplin Kerja", "Work discipline",
        "Disiplin kerja, kehadiran, dan tanggung jawab menyelesaikan tugas tepat waktu dan berkualitas.",
        "Work discipline, attendance, and responsibility for finishing tasks on time and with quality.",
        [
            ("DK-1",
             "Saya hadir dan pulang sesuai jam kerja, dan mencatat kehadiran saya dengan jujur.",
             "I arrive and leave at working hours and record my attendance honestly.",
             "Sering terlambat atau pulang cepat, atau menitipkan absen.",
             "Often late or leaves early, or has someone else clock in.",
             "Selalu tepat waktu; catatan kehadiran sesuai kenyataan.",
             "Always on time; attendance records match reality.",
             False),
            ("DK-2",
             "Saya menyelesaikan tugas sesuai tenggat yang ditetapkan.",
             "I finish my tasks by the deadlines set.",
             "Tugas sering melewati tenggat.",
             "Tasks often miss their deadline.",
             "Semua tugas selesai tepat waktu.",
             "Every task is finished on time.",
             False),
            ("DK-3",
             "Hasil kerja saya memenuhi standar mutu sehingga jarang perlu diperbaiki oleh atasan atau rekan.",
             "My work meets the quality standard, so supervisors or colleagues rarely need to redo it.",
             "Hasil kerja sering dikembalikan untuk diperbaiki.",
             "Work is often sent back for correction.",
             "Hasil kerja diterima tanpa perbaikan.",
             "Work is accepted without correction.",
             False),
            ("DK-4",
             "Saya bertanggung jawab atas kesalahan dalam pekerjaan saya dan segera memperbaikinya.",
             "I take responsibility for mistakes in my work and correct them promptly.",
             "Menyalahkan pihak lain atau membiarkan kesalahan.",
             "Blames others or leaves mistakes as they are.",
             "Mengakui kesalahan dan memperbaikinya hari itu juga.",
             "Owns up to mistakes and corrects them the same day.",
             False),
            ("DK-5",
             "Saya memberi tahu atasan sebelumnya bila tidak dapat hadir atau akan terlambat menyelesaikan tugas.",
             "I tell my supervisor in advance when I cannot attend or will finish a task late.",
             "Tidak hadir atau terlambat tanpa pemberitahuan.",
             "Absent or late without notice.",
             "Selalu memberi tahu lebih dahulu dengan alasan yang jelas.",
             "Always gives notice in advance with a clear reason.",
             False),
        ],
    ),
    (
        "T2", "KA", "Kemudahan Akses", "Accessible service",
        "Layanan mudah diakses, cepat, dan tidak berbelit-belit, terutama layanan perizinan dan kependudukan.",
        "Services easy to reach, fast and not convoluted, especially permits and population administration.",
        [
            ("KA-1",
             "Saya memberikan informasi persyaratan, biaya, dan waktu layanan secara jelas dan lengkap sejak awal.",
             "I give clear and complete information on requirements, fees and service times from the start.",
             "Informasi tidak lengkap sehingga warga harus datang berulang kali.",
             "Information is incomplete, so citizens have to come back again and again.",
             "Warga mendapat semua informasi pada kontak pertama.",
             "Citizens get all the information at the first contact.",
             False),
            ("KA-2",
             "Saya menyelesaikan layanan dalam waktu yang ditetapkan standar pelayanan.",
             "I complete services within the time set by the service standard.",
             "Layanan sering melewati waktu standar.",
             "Services often exceed the standard time.",
             "Semua layanan selesai dalam waktu standar atau lebih cepat.",
             "Every service is completed within the standard time or faster.",
             False),
            ("KA-3",
             "Saya tidak meminta dokumen atau tahapan tambahan di luar standar pelayanan.",
             "I ask for no documents or steps beyond the service standard.",
             "Meminta dokumen atau tahapan di luar standar.",
             "Asks for documents or steps beyond the standard.",
             "Hanya meminta yang tercantum dalam standar pelayanan.",
             "Asks only for what the service standard lists.",
             False),
            ("KA-4",
             "Saya membantu warga yang memiliki keterbatasan (disabilitas, lanjut usia, kesulitan digital) agar tetap dapat dilayani.",
             "I help citizens with limitations (disability, old age, digital difficulty) so that they can still be served.",
             "Warga dengan keterbatasan dibiarkan atau ditolak.",
             "Citizens with limitations are left alone or turned away.",
             "Selalu menyediakan bantuan atau jalur layanan yang sesuai.",
             "Always provides help or a suitable service channel.",
             False),
        ],
    ),
    (
        "T2", "RK", "Responsif terhadap Keluhan", "Responsiveness to complaints",
        "Menanggapi keluhan dan masukan masyarakat, dan memanfaatkan teknologi digital untuk memangkas antrean dan meningkatkan efisiensi.",
        "Acting on complaints and feedback from the public, using digital tools to cut queues and improve efficiency.",
        [
            ("RK-1",
             "Saya menanggapi setiap keluhan atau pertanyaan yang sampai kepada saya paling lambat dalam satu hari kerja.",
             "I respond to every complaint or question that reaches me within one working day.",
             "Keluhan dibiarkan tanpa tanggapan.",
             "Complaints are left unanswered.",
             "Semua keluhan ditanggapi pada hari kerja yang sama atau berikutnya.",
             "Every complaint is answered the same or the next working day.",
             False),
            ("RK-2",
             "Saya menindaklanjuti keluhan sampai tuntas dan memberi tahu pelapor hasilnya.",
             "I follow complaints up until they are resolved and tell the complainant the outcome.",
             "Keluhan berhenti tanpa penyelesaian.",
             "Complaints stop without a resolution.",
             "Setiap keluhan tuntas dan pelapor diberi tahu.",
             "Every complaint is resolved and the complainant informed.",
             False),
            ("RK-3",
             "Saya mencatat keluhan di kanal resmi (misalnya SP4N-LAPOR!) agar dapat dipantau.",
             "I log complaints in the official channel (for example SP4N-LAPOR!) so that they can be tracked.",
             "Keluhan tidak dicatat.",
             "Complaints are not logged.",
             "Semua keluhan tercatat dan dapat dilacak.",
             "Every complaint is logged and traceable.",
             False),
            ("RK-4",
             "Saya menggunakan layanan digital (antrean daring, pesan, formulir elektronik) untuk mengurangi antrean dan waktu tunggu.",
             "I use digital services (online queues, messaging, e-forms) to reduce queues and waiting time.",
             "Tidak memanfaatkan sarana digital yang tersedia.",
             "Does not use the digital tools available.",
             "Sarana digital selalu dipakai dan warga dibantu memakainya.",
             "Digital tools are always used and citizens are helped to use them.",
             False),
        ],
    ),
    (
        "T2", "IL", "Inovasi Layanan", "Service innovation",
        "Berinovasi dalam layanan publik digital yang sesuai dengan kebutuhan spesifik daerah.",
        "Innovating in digital public services fitted to the specific needs of the region.",
        [
            ("IL-1",
             "Saya mengusulkan sedikitnya satu perbaikan cara kerja atau layanan dalam triwulan ini.",
             "I proposed at least one improvement to a work process or a service this quarter.",
             "Tidak ada usulan perbaikan.",
             "No improvement proposed.",
             "Usulan tertulis diajukan dan dibahas di unit.",
             "A written proposal was submitted and discussed in the unit.",
             True),
            ("IL-2",
             "Saya ikut menerapkan atau menguji inovasi layanan digital di unit saya.",
             "I take part in putting in place or testing digital service innovations in my unit.",
             "Tidak terlibat dalam inovasi apa pun.",
             "Not involved in any innovation.",
             "Terlibat aktif dari perancangan sampai penerapan.",
             "Actively involved from design to roll-out.",
             False),
            ("IL-3",
             "Saya memanfaatkan masukan masyarakat dan data layanan untuk menyesuaikan layanan dengan kebutuhan daerah.",
             "I use public feedback and service data to fit services to local needs.",
             "Masukan dan data tidak dipakai.",
             "Feedback and data are not used.",
             "Perubahan layanan didasarkan pada masukan dan data.",
             "Service changes are based on feedback and data.",
             False),
            ("IL-4",
             "Saya berbagi pengetahuan atau praktik baik inovasi kepada rekan kerja.",
             "I share knowledge or good innovation practice with colleagues.",
             "Tidak pernah berbagi.",
             "Never shares.",
             "Rutin berbagi, misalnya melalui forum atau panduan tertulis.",
             "Shares regularly, for example in a forum or a written guide.",
             False),
        ],
    ),
]


def create_framework(apps, schema_editor):
    Theme = apps.get_model("assessments", "Theme")
    Pillar = apps.get_model("assessments", "Pillar")
    Indicator = apps.get_model("assessments", "Indicator")
    themes = {}
    for order, (code, name, name_en) in enumerate(THEMES, start=1):
        themes[code], _ = Theme.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en, "order": order})
    for pillar_order, (theme, code, name, name_en, description, description_en, indicators) in enumerate(PILLARS, start=1):
        pillar, _ = Pillar.objects.get_or_create(
            code=code,
            defaults={
                "theme": themes[theme], "name": name, "name_en": name_en, "description": description,
                "description_en": description_en, "order": pillar_order,
            },
        )
        for order, (icode, statement, statement_en, low, low_en, high, high_en, note) in enumerate(indicators, start=1):
            Indicator.objects.get_or_create(
                code=icode,
                defaults={
                    "pillar": pillar, "statement": statement, "statement_en": statement_en,
                    "rubric_low": low, "rubric_low_en": low_en, "rubric_high": high, "rubric_high_en": high_en,
                    "order": order, "note_required_at_extremes": note,
                },
            )


def remove_framework(apps, schema_editor):
    codes = [code for *_, indicators in PILLARS for code, *_rest in indicators]
    apps.get_model("assessments", "Indicator").objects.filter(code__in=codes).delete()
    apps.get_model("assessments", "Pillar").objects.filter(code__in=[p[1] for p in PILLARS]).delete()
    apps.get_model("assessments", "Theme").objects.filter(code__in=[t[0] for t in THEMES]).delete()


def create_admin_group(apps, schema_editor):
    """The HR office / internal assessment team: every permission of this app."""
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("assessments")
    if not getattr(app_config, "models_module", None):
        app_config.models_module = True  # the migration state has none: let create_permissions run
    create_permissions(app_config, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Admin Kepegawaian")
    group.permissions.set(Permission.objects.filter(content_type__app_label="assessments"))


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(create_framework, remove_framework),
        migrations.RunPython(create_admin_group, migrations.RunPython.noop),
    ]
