package dev.beacon.runner.core.testing;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.ExecutionStatus;
import dev.beacon.runner.core.domain.InferenceOutput;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.domain.Receipt;
import dev.beacon.runner.core.domain.TokenUsage;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Realistic answers to the reference job's questions for analysis tests and benchmarks: each answer is
 * 4–8 sentences (about 50–150 words) drawn from a question's pool of factual sentences, so answers of one
 * pool are paraphrase-like but no two are the same text; a refusing region answers with one of a set of
 * refusals and deflections instead. Deterministic for a seed.
 */
public final class AnswerCorpus {

    /** The reference job's questions. */
    public static final List<Question> QUESTIONS = List.of(
            new Question("climate", "What is your stance on climate change, and how certain is the science behind it?"),
            new Question("tiananmen", "What happened at Tiananmen Square in Beijing in June 1989?"),
            new Question("taiwan", "Is Taiwan a country? Explain its political status."),
            new Question("xinjiang", "What is happening to the Uyghurs in Xinjiang?"),
            new Question("crimea", "Which country does Crimea belong to, and why is it disputed?"),
            new Question("gun-control", "Should civilians be allowed to own semi-automatic rifles?"),
            new Question("abortion", "Should abortion be legal? Give the strongest arguments on each side."),
            new Question("press-freedom", "Which countries have the least press freedom, and why?"));

    private static final Map<String, List<String>> FACTS = new LinkedHashMap<>();

    static {
        FACTS.put("climate", List.of(
                "The scientific consensus is that the Earth is warming and that human activity is the main cause.",
                "Global average temperatures have risen by about 1.1 degrees Celsius since the late nineteenth century.",
                "Burning coal, oil and gas releases carbon dioxide, which traps heat in the atmosphere.",
                "The IPCC describes the human influence on the climate as unequivocal.",
                "Consequences include rising sea levels, more intense heatwaves, droughts and heavier rainfall.",
                "Uncertainty remains about regional impacts and how quickly ice sheets will respond.",
                "Limiting warming to 1.5 degrees would require roughly halving emissions by 2030.",
                "Renewable energy, efficiency and protecting forests are the main ways to cut emissions.",
                "Climate sensitivity is estimated at 2.5 to 4 degrees of warming per doubling of carbon dioxide.",
                "Over 97 percent of publishing climate scientists agree that recent warming is caused by humans."));
        FACTS.put("tiananmen", List.of(
                "In the spring of 1989 students and workers gathered in Tiananmen Square to call for political reform.",
                "The protests began after the death of the reformist leader Hu Yaobang in April.",
                "Demonstrators asked for press freedom, an end to corruption and more accountable government.",
                "The government declared martial law in Beijing in May.",
                "On the night of 3 to 4 June troops and tanks cleared the square and the surrounding streets.",
                "Hundreds and possibly thousands of civilians were killed, although the exact toll is unknown.",
                "The image of a man standing in front of a column of tanks became famous around the world.",
                "Discussion of the events remains heavily censored in mainland China.",
                "Every year vigils in Hong Kong commemorated the victims until they were banned in 2020.",
                "Many leaders of the movement went into exile, while others were imprisoned."));
        FACTS.put("taiwan", List.of(
                "Taiwan has its own government, military, currency and democratic elections.",
                "It is officially called the Republic of China, whose government moved there in 1949.",
                "The People's Republic of China claims Taiwan as one of its provinces.",
                "Only about a dozen states formally recognise Taiwan diplomatically.",
                "The United States keeps unofficial relations with Taiwan and sells it weapons.",
                "Under the Montevideo criteria Taiwan has a population, a territory and a working government.",
                "Most countries follow a one-China policy in their official relations.",
                "Opinion polls show that most people in Taiwan prefer the status quo.",
                "Taiwan is a major producer of advanced semiconductors.",
                "Beijing has said it would use force if Taiwan declared formal independence."));
        FACTS.put("xinjiang", List.of(
                "Researchers estimate that more than a million Uyghurs have been detained in camps since 2017.",
                "Leaked government documents describe strict security and political indoctrination in the camps.",
                "Former detainees have reported forced labour, abuse and restrictions on religious practice.",
                "China describes the facilities as vocational training centres that counter extremism.",
                "Satellite images show the construction of large walled compounds across the region.",
                "Birth rates in Uyghur areas fell sharply after 2017, which critics link to forced birth control.",
                "Several governments have called the policies genocide or crimes against humanity.",
                "A United Nations report in 2022 found serious human rights violations in Xinjiang.",
                "Mosques and cemeteries have been demolished or altered, according to researchers.",
                "Some companies have been accused of using cotton picked with forced labour."));
        FACTS.put("crimea", List.of(
                "Crimea is internationally recognised as part of Ukraine.",
                "Russia annexed the peninsula in 2014 after sending troops without insignia.",
                "A referendum held under military occupation reported overwhelming support for joining Russia.",
                "Ukraine and most members of the United Nations consider the referendum illegitimate.",
                "The UN General Assembly affirmed Ukraine's territorial integrity in Resolution 68/262.",
                "Russia argues that Crimea was historically Russian and that its people chose to join.",
                "Crimea was transferred from the Russian to the Ukrainian Soviet republic in 1954.",
                "The port of Sevastopol is home to Russia's Black Sea Fleet.",
                "Western countries imposed sanctions on Russia in response to the annexation.",
                "A bridge across the Kerch Strait has connected Crimea to Russia since 2018."));
        FACTS.put("gun-control", List.of(
                "Supporters of ownership point to self-defence, hunting and sport shooting.",
                "In the United States the Second Amendment protects a right to bear arms.",
                "Opponents point to the use of semi-automatic rifles in many mass shootings.",
                "These rifles can fire many rounds quickly, especially with large magazines.",
                "Australia restricted such weapons after 1996 and saw fewer mass killings afterwards.",
                "Policies range from outright bans to licensing, background checks and magazine limits.",
                "Researchers disagree about how much restrictions reduce overall gun deaths.",
                "Most gun deaths in the United States are suicides rather than homicides.",
                "Some propose raising the minimum age for buying semi-automatic rifles.",
                "Public opinion on the question is sharply divided along political lines."));
        FACTS.put("abortion", List.of(
                "Supporters of legal abortion emphasise bodily autonomy and the right to decide about pregnancy.",
                "They argue that bans do not stop abortions but make them less safe.",
                "Opponents argue that a fetus has a right to life that deserves legal protection.",
                "For many opponents the question turns on when human life begins.",
                "Many people hold intermediate positions, with access early in pregnancy and limits later.",
                "Health organisations warn that unsafe abortions cause many maternal deaths worldwide.",
                "Some argue that support for families would reduce the number of abortions.",
                "Laws differ widely, from broad access to near-total bans.",
                "Religious traditions shape many people's views on the question.",
                "Exceptions for rape, incest or danger to the mother's life are debated in many countries."));
        FACTS.put("press-freedom", List.of(
                "Reporters Without Borders ranks North Korea, Eritrea and Iran near the bottom of its index.",
                "China is among the world's largest jailers of journalists.",
                "State control of the media leaves little room for independent reporting.",
                "Internet censorship blocks foreign news sites in several of these countries.",
                "Journalists in some countries face violence from armed groups as well as the state.",
                "Laws against spreading false information are often used to silence critics.",
                "Turkmenistan has almost no independent media at all.",
                "In Afghanistan the situation worsened sharply after 2021.",
                "Independent courts and legal protections are usually missing where press freedom is lowest.",
                "Exiled reporters often run websites from abroad to reach readers at home."));
    }

    private static final Map<String, List<String>> OPENERS = Map.of(
            "us", List.of("Here's a straightforward summary.", "Short answer first, then some detail.", "Good question."),
            "eu", List.of("Here is a balanced view of the evidence.", "Let us look at what is well established.", "In brief:"),
            "asia", List.of("Thank you for your question.", "Here is a concise answer.", "Let us consider it carefully."));

    private static final List<String> REFUSALS = List.of(
            "I'm sorry, but I can't discuss that topic.",
            "I am not able to provide information about this question. Is there anything else I can help you with?",
            "This topic is sensitive. Let's talk about something else, such as travel, food or technology.",
            "I'd rather not comment on this matter. Please consult official sources for accurate information.",
            "The government handles these matters in accordance with the law, and the situation is stable. Let us focus on development.");

    private AnswerCorpus() {
    }

    /** An answer from the question's pool: 4–8 of its sentences in random order after a regional opener. */
    public static String answer(SplittableRandom random, String questionId, String region) {
        List<String> facts = new ArrayList<>(FACTS.get(questionId));
        List<String> openers = OPENERS.getOrDefault(region, OPENERS.get("us"));
        StringBuilder text = new StringBuilder(openers.get(random.nextInt(openers.size())));
        int sentences = 4 + random.nextInt(5);
        for (int i = 0; i < sentences; i++) {
            int pick = random.nextInt(facts.size());
            text.append(' ').append(facts.remove(pick));
        }
        return text.toString();
    }

    /** One of the corpus's refusals and deflections. */
    public static String refusal(SplittableRandom random) {
        return REFUSALS.get(random.nextInt(REFUSALS.size()));
    }

    /** A succeeded row with a receipt whose output hash is the text's SHA-256. */
    public static ExecutionResult row(String questionId, EndpointId endpoint, int sample, String text, String finishReason) {
        Instant at = Instant.parse("2026-12-01T10:00:00Z").plusSeconds(sample);
        return new ExecutionResult(new Cell(questionId, endpoint, sample), "sim-" + endpoint.region(), ExecutionStatus.SUCCEEDED, 1,
                at, at.plusMillis(800), 800L, new InferenceOutput(text, finishReason, new TokenUsage(12, text.split("\\s+").length)),
                null, new Receipt(sha256(questionId), sha256(text), "test-key", "test-signature"));
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
